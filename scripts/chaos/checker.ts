// The chaos checker: pure functions over what a run observed (client history, messages sent,
// what the poller received, the final tables). No I/O, no clock: `snapshot.now` is "now".
//
// The central notion is a *proven hold*: every 200 a client got proves that a claim held its
// servers from the moment the answer arrived until the deadline the answer names (lease or hold),
// or until the claim's holder started changing it (a release, confirm or renew, whatever its
// outcome: one that timed out may have applied). Two different claims with overlapping proven
// holds on one server break promise 1.
//
// Servers whose pod was replaced or drained meanwhile are exempt where the promise allows it
// (a genuinely new pod drops the claims of the old one), and every exemption is recorded.
import { normalizeStatusMessage } from '../../lib/messages/normalize';
import type { GameServerLifecycleEvent } from '../../lib/pods/events';
import { decideOrdering, laterPhase, phaseOfEvent, type StoredPodState } from '../../lib/pods/ordering';
import {
  VIOLATION_KINDS,
  type CheckResult,
  type ClaimRecord,
  type ClientOp,
  type Delivery,
  type Exemption,
  type HistoryEntry,
  type Observation,
  type SentMessage,
  type ServerRecord,
  type Violation,
  type ViolationKind,
} from './types';

// ---------------------------------------------------------------------------------------------
// Reading answers
// ---------------------------------------------------------------------------------------------

/** What a 200 of a claim route says. */
export interface ClaimAnswer {
  claimId: string;
  status: string;
  endpoints: string[];
  nodes: string[];
  leaseExpiresAt?: number;
  holdExpiresAt?: number;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const time = (value: unknown): number | undefined => (typeof value === 'string' ? Date.parse(value) : undefined);

export function parseClaimAnswer(body: unknown): ClaimAnswer | undefined {
  if (!isObject(body) || typeof body.claimId !== 'string' || typeof body.status !== 'string' || !Array.isArray(body.servers)) return undefined;
  const servers = body.servers.filter(isObject);
  return {
    claimId: body.claimId,
    status: body.status,
    endpoints: servers.map((s) => String(s.endpoint)),
    nodes: servers.map((s) => String(s.node)),
    ...(time(body.leaseExpiresAt) !== undefined ? { leaseExpiresAt: time(body.leaseExpiresAt)! } : {}),
    ...(time(body.holdExpiresAt) !== undefined ? { holdExpiresAt: time(body.holdExpiresAt)! } : {}),
  };
}

/** What a set-gs-busy 200 says: the hold end (absent: the protocol has no holds, i.e. forever). */
export function parseBusyAnswer(body: unknown): { claimId?: string; holdExpiresAt?: number } {
  if (!isObject(body)) return {};
  const server = isObject(body.server) ? body.server : {};
  const hold = time(body.holdExpiresAt) ?? time(server.holdExpiresAt);
  return { ...(typeof body.claimId === 'string' ? { claimId: body.claimId } : {}), ...(hold !== undefined ? { holdExpiresAt: hold } : {}) };
}

const errorCodeOf = (entry: HistoryEntry): string | undefined => {
  const error = isObject(entry.body) && isObject(entry.body.error) ? entry.body.error : undefined;
  return typeof error?.code === 'string' ? error.code : undefined;
};

const CLAIM_ROUTES: ReadonlySet<ClientOp> = new Set(['claim', 'confirm', 'renew', 'release']);
const busyKey = (endpoint: string, claimId: string) => `${endpoint}|${claimId}`;
const minInto = (map: Map<string, number>, key: string, value: number) => map.set(key, Math.min(map.get(key) ?? Infinity, value));

/** Indexes of the history that several checks use. */
export class HistoryIndex {
  /** Earliest request of each claim id (claim routes): no claim write of it can precede this. */
  readonly claimStart = new Map<string, number>();
  /** Earliest release request of each claim id, whatever its outcome. */
  readonly releaseStart = new Map<string, number>();
  /** set-gs-busy: earliest request per endpoint|claimId. */
  readonly busyStart = new Map<string, number>();
  /** set-gs-available: earliest request per endpoint|claimId. */
  readonly availableStart = new Map<string, number>();
  /** Latest set-gs-busy request start per endpoint|claimId (a busy sent after an available re-takes the server). */
  readonly lastBusyStart = new Map<string, number>();
  readonly ok: HistoryEntry[];
  readonly t0: number;

  /** `t0`: the origin of the times in messages (default: the first request). */
  constructor(
    readonly history: HistoryEntry[],
    t0?: number,
  ) {
    for (const entry of history) {
      if (CLAIM_ROUTES.has(entry.op)) minInto(this.claimStart, entry.claimId, entry.start);
      if (entry.op === 'release') minInto(this.releaseStart, entry.claimId, entry.start);
      if (entry.op === 'set-busy' && entry.endpoint) {
        minInto(this.busyStart, busyKey(entry.endpoint, entry.claimId), entry.start);
        const key = busyKey(entry.endpoint, entry.claimId);
        this.lastBusyStart.set(key, Math.max(this.lastBusyStart.get(key) ?? -Infinity, entry.start));
      }
      if (entry.op === 'set-available' && entry.endpoint) minInto(this.availableStart, busyKey(entry.endpoint, entry.claimId), entry.start);
    }
    this.ok = history.filter((entry) => entry.status === 200);
    this.t0 = t0 ?? history.reduce((min, entry) => Math.min(min, entry.start), Infinity);
  }

  /** `t+12.345s` relative to the first request: readable examples. */
  at(ms: number): string {
    if (!Number.isFinite(ms)) return ms > 0 ? 'never' : '-inf';
    const offset = (ms - (Number.isFinite(this.t0) ? this.t0 : 0)) / 1000;
    return `t${offset < 0 ? '-' : '+'}${Math.abs(offset).toFixed(3)}s`;
  }
}

// ---------------------------------------------------------------------------------------------
// Proven holds
// ---------------------------------------------------------------------------------------------

export interface HoldFact {
  /** `claim:<id>` or `busy:<id>`: two facts with different holders on one server must not overlap. */
  holder: string;
  claimId: string;
  endpoint: string;
  /** When the 200 arrived. */
  start: number;
  /** Deadline named by the answer, cut where the holder started changing the claim. */
  end: number;
  /** Earliest request of this claim: its write cannot precede this. */
  requested: number;
  entryId: number;
  op: ClientOp;
}

/**
 * Every hold a 200 proves (empty intervals dropped). A claim's interval ends at its deadline, or
 * as soon as its holder starts changing it: a release, confirm or renew (other than the answer
 * itself) that may have applied after this answer replaces the deadline (a confirm with a short
 * hold may well shorten a lease); that request's own 200, if any, proves the next interval.
 */
export function provenHolds(index: HistoryIndex): HoldFact[] {
  const transitions = new Map<string, HistoryEntry[]>();
  for (const entry of index.history) {
    if (entry.op === 'release' || entry.op === 'confirm' || entry.op === 'renew') transitions.set(entry.claimId, [...(transitions.get(entry.claimId) ?? []), entry]);
  }
  const facts: HoldFact[] = [];
  for (const entry of index.ok) {
    if (entry.op === 'claim' || entry.op === 'confirm' || entry.op === 'renew') {
      const answer = parseClaimAnswer(entry.body);
      if (!answer || answer.status === 'released') continue;
      const deadline = answer.status === 'confirmed' ? (answer.holdExpiresAt ?? Infinity) : (answer.leaseExpiresAt ?? -Infinity);
      const changedAt = (transitions.get(entry.claimId) ?? []).filter((t) => t !== entry && t.end > entry.end).reduce((min, t) => Math.min(min, t.start), Infinity);
      const end = Math.min(deadline, changedAt);
      if (end <= entry.end) continue;
      for (const endpoint of answer.endpoints) {
        facts.push({
          holder: `claim:${entry.claimId}`,
          claimId: entry.claimId,
          endpoint,
          start: entry.end,
          end,
          requested: index.claimStart.get(entry.claimId) ?? entry.start,
          entryId: entry.id,
          op: entry.op,
        });
      }
    } else if (entry.op === 'set-busy' && entry.endpoint) {
      const answer = parseBusyAnswer(entry.body);
      const key = busyKey(entry.endpoint, entry.claimId);
      const end = Math.min(answer.holdExpiresAt ?? Infinity, index.availableStart.get(key) ?? Infinity);
      if (end <= entry.end) continue;
      facts.push({
        holder: `busy:${entry.claimId}`,
        claimId: entry.claimId,
        endpoint: entry.endpoint,
        start: entry.end,
        end,
        requested: index.busyStart.get(key) ?? entry.start,
        entryId: entry.id,
        op: entry.op,
      });
    }
  }
  return facts;
}

// ---------------------------------------------------------------------------------------------
// What the pods said (for exemptions and ingestion)
// ---------------------------------------------------------------------------------------------

export interface PodEvent {
  messageId: string;
  format: 'v1' | 'legacy';
  event: GameServerLifecycleEvent;
  firstReceivedAt: number;
  effectUntil: number;
  deadLettered: boolean;
}

/** How far SQS's SentTimestamp may lie outside the SendMessage call (same machine, same clock). */
const SENT_TIMESTAMP_SLACK_MS = 250;

/** Whether the SentTimestamp the poller saw can be the one SQS stamped (it lies within the SendMessage call). */
export function plausibleSentTimestamp(message: SentMessage, delivery: Delivery): boolean {
  return (
    !delivery.sentTimestampChanged &&
    delivery.sentTimestamp >= message.sendStart - SENT_TIMESTAMP_SLACK_MS &&
    delivery.sentTimestamp <= message.sendEnd + SENT_TIMESTAMP_SLACK_MS
  );
}

/** The message's real SentTimestamp: what the poller saw if plausible, else the send call's start (within a few ms). */
function trueSentTimestamp(message: SentMessage, delivery: Delivery): number {
  return plausibleSentTimestamp(message, delivery) ? delivery.sentTimestamp : message.sendStart;
}

/** Per endpoint: its received, valid events (normalized as the poller does, with the real SentTimestamp). */
export class PodHistory {
  readonly byEndpoint = new Map<string, PodEvent[]>();
  /** The first pod on each endpoint (by the ordering rules): every other pod replaced it. */
  private readonly firstPod = new Map<string, string>();

  constructor(observation: Observation) {
    const deadIds = new Set(observation.snapshot.deadLetters.map((d) => d.messageId).filter((id): id is string => !!id));
    const deadBodies = new Set(observation.snapshot.deadLetters.map((d) => d.body));
    for (const message of observation.messages) {
      if (message.format === 'poison' || !message.endpoint) continue;
      const delivery = observation.deliveries[message.messageId];
      if (!delivery) continue; // never received: it changed nothing
      const normalized = normalizeStatusMessage({ body: message.body, sentTimestamp: trueSentTimestamp(message, delivery) });
      if (!normalized.ok || normalized.event.kind !== 'game-server') continue;
      const list = this.byEndpoint.get(normalized.event.endpoint) ?? [];
      list.push({
        messageId: message.messageId,
        format: message.format,
        event: normalized.event,
        firstReceivedAt: delivery.firstReceivedAt,
        effectUntil: delivery.effectUntil,
        deadLettered: deadIds.has(message.messageId) || deadBodies.has(message.body),
      });
      this.byEndpoint.set(normalized.event.endpoint, list);
    }
    for (const [endpoint, events] of this.byEndpoint) {
      const oldest = [...events].sort((a, b) => a.event.sentAt - b.event.sentAt || (a.event.podUid < b.event.podUid ? -1 : 1))[0];
      if (oldest) this.firstPod.set(endpoint, oldest.event.podUid);
    }
  }

  events(endpoint: string): PodEvent[] {
    return this.byEndpoint.get(endpoint) ?? [];
  }

  /**
   * Pods that replaced the endpoint's first pod and started (sent their first event) at or after
   * `from`: genuinely new pods relative to something requested at `from`. Ordered by start.
   */
  podsStartedSince(endpoint: string, from: number): PodSummary[] {
    const first = this.firstPod.get(endpoint);
    return this.pods(endpoint)
      .filter((pod) => pod.podUid !== first && pod.start >= from)
      .sort((a, b) => a.start - b.start);
  }

  pod(endpoint: string, podUid: string): PodSummary | undefined {
    return this.pods(endpoint).find((pod) => pod.podUid === podUid);
  }

  /** Pods started before `from` whose events were still being written after it (late events). */
  latePods(endpoint: string, from: number, until: number): PodSummary[] {
    const first = this.firstPod.get(endpoint);
    return this.pods(endpoint).filter((pod) => pod.podUid !== first && pod.start < from && pod.lastEffectUntil >= from && pod.firstReceivedAt <= until);
  }

  isReplacement(endpoint: string, podUid: string): boolean {
    return this.firstPod.get(endpoint) !== podUid && this.pod(endpoint, podUid) !== undefined;
  }

  private pods(endpoint: string): PodSummary[] {
    const byPod = new Map<string, PodSummary>();
    for (const e of this.events(endpoint)) {
      const pod = byPod.get(e.event.podUid) ?? { podUid: e.event.podUid, start: Infinity, firstReceivedAt: Infinity, inPlaceBy: Infinity, lastEffectUntil: -Infinity };
      pod.start = Math.min(pod.start, e.event.sentAt);
      pod.firstReceivedAt = Math.min(pod.firstReceivedAt, e.firstReceivedAt);
      pod.lastEffectUntil = Math.max(pod.lastEffectUntil, e.effectUntil);
      if (!e.deadLettered) pod.inPlaceBy = Math.min(pod.inPlaceBy, e.effectUntil);
      byPod.set(e.event.podUid, pod);
    }
    return [...byPod.values()];
  }
}

/** One pod of an endpoint, from its events. */
export interface PodSummary {
  podUid: string;
  /** sentAt of its first event: the pod existed from then. */
  start: number;
  /** When any of its events was first received. */
  firstReceivedAt: number;
  /** By when one of its events had certainly landed (Infinity: unknown). */
  inPlaceBy: number;
  /** Until when one of its events may still have been written. */
  lastEffectUntil: number;
}

/**
 * Why a claim made no earlier than `requested` may legitimately no longer hold `record`: the pod
 * left the active phase, or a pod started after the claim was requested replaced it. Undefined:
 * nothing excuses a lost hold.
 */
export function persistenceExemption(pods: PodHistory, endpoint: string, requested: number, record: ServerRecord | undefined): { reason: string; detail?: string } | undefined {
  if (record && record.phase !== 'active') return { reason: `pod ${record.phase}`, detail: record.podUid };
  if (record && record.status === 'draining') return { reason: 'node draining', detail: record.node };
  const newer = pods.podsStartedSince(endpoint, requested)[0];
  if (newer) return { reason: 'replaced by a pod started after the claim was requested', detail: newer.podUid };
  return undefined;
}

/**
 * A hold that should still be there is not: was it undone by a pod whose event was sent before
 * the claim (promise 6: ingestion), or lost some other way (the answer lied: answer-vs-final)?
 */
function classifyLostHold(pods: PodHistory, endpoint: string, requested: number, record: ServerRecord | undefined): 'ingestion' | 'answer-vs-final' {
  if (!record) return 'answer-vs-final';
  const pod = pods.pod(endpoint, record.podUid);
  if (!pod || !pods.isReplacement(endpoint, record.podUid) || pod.start >= requested) return 'answer-vs-final';
  // The pod was certainly written before the claim was even requested: the claim was made on it.
  if (pod.inPlaceBy < requested) return 'answer-vs-final';
  return 'ingestion';
}

// ---------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------

interface Context {
  observation: Observation;
  index: HistoryIndex;
  pods: PodHistory;
  holds: HoldFact[];
  servers: Map<string, ServerRecord>;
  claims: Map<string, ClaimRecord>;
  now: number;
  violations: Violation[];
  exemptions: Exemption[];
  checked: Record<string, number>;
}

const bump = (ctx: Context, counter: string) => {
  ctx.checked[counter] = (ctx.checked[counter] ?? 0) + 1;
};

const liveUntil = (deadline: number | undefined, now: number) => deadline === undefined || deadline > now;

/** Held at `now` as the contract defines it: claimed under a live lease, or busy under a live hold. */
export function isHeld(server: ServerRecord, now: number): boolean {
  return (server.status === 'claimed' && (server.leaseExpiresAt ?? -Infinity) > now) || (server.status === 'busy' && liveUntil(server.holdExpiresAt, now));
}

function busyUnder(server: ServerRecord | undefined, claimId: string, now: number, attemptId?: string): boolean {
  return (
    !!server &&
    server.status === 'busy' &&
    server.claimId === claimId &&
    (attemptId === undefined || server.claimAttempt === undefined || server.claimAttempt === attemptId) &&
    liveUntil(server.holdExpiresAt, now)
  );
}

const describeServer = (s: ServerRecord | undefined) =>
  s ? `${s.status}/${s.phase} pod ${s.podUid}${s.claimId ? ` claim ${s.claimId}` : ''}` : 'no record';

/** 1. No server held by two claims at overlapping times. */
export function checkDoubleHolds(ctx: Context): void {
  const byEndpoint = new Map<string, HoldFact[]>();
  for (const fact of ctx.holds) byEndpoint.set(fact.endpoint, [...(byEndpoint.get(fact.endpoint) ?? []), fact]);
  const seen = new Set<string>();
  for (const [endpoint, facts] of byEndpoint) {
    facts.sort((a, b) => a.start - b.start);
    for (let i = 0; i < facts.length; i++) {
      for (let j = i + 1; j < facts.length; j++) {
        const a = facts[i]!;
        const b = facts[j]!;
        if (b.start >= a.end) break; // sorted by start: no later fact overlaps `a` either
        if (a.holder === b.holder) continue;
        bump(ctx, 'overlapping hold pairs');
        const pair = [endpoint, ...[a.holder, b.holder].sort()].join(' ');
        if (seen.has(pair)) continue;
        seen.add(pair);
        // A pod started after the first claim was requested, written before the second answer: it
        // dropped the first claim with the old pod.
        const from = Math.min(a.requested, b.requested);
        const until = Math.max(a.start, b.start);
        const replacement = ctx.pods.podsStartedSince(endpoint, from).find((pod) => pod.firstReceivedAt <= until);
        if (replacement) {
          ctx.exemptions.push({ check: 'double-hold', endpoint, claimId: `${a.claimId} & ${b.claimId}`, reason: 'a pod started after the first claim replaced the server before the second', detail: replacement.podUid });
          continue;
        }
        const late = ctx.pods.latePods(endpoint, from, until)[0];
        ctx.violations.push({
          kind: 'double-hold',
          message:
            `${endpoint}: ${a.holder} held [${ctx.index.at(a.start)}, ${ctx.index.at(a.end)}) (${a.op} 200 #${a.entryId}) and ` +
            `${b.holder} held [${ctx.index.at(b.start)}, ${ctx.index.at(b.end)}) (${b.op} 200 #${b.entryId})` +
            (late
              ? `; pod ${late.podUid}, started at ${ctx.index.at(late.start)} (before the claims), still had events landing after the first claim was requested: an event sent before a claim may have undone it`
              : ''),
          details: { endpoint, first: a, second: b },
        });
      }
    }
  }
}

/** 2. One claim id, one server set, in every 200. */
export function checkClaimSets(ctx: Context): void {
  const sets = new Map<string, Map<string, number>>();
  for (const entry of ctx.index.ok) {
    if (!CLAIM_ROUTES.has(entry.op)) continue;
    const answer = parseClaimAnswer(entry.body);
    if (!answer) continue;
    const key = [...answer.endpoints].sort().join(',');
    const forClaim = sets.get(entry.claimId) ?? new Map<string, number>();
    if (!forClaim.has(key)) forClaim.set(key, entry.id);
    sets.set(entry.claimId, forClaim);
  }
  ctx.checked['claim ids answered 200'] = sets.size;
  // A retry with the very same request must get the claim, never claim.mismatch.
  const bodies = new Map<string, Set<string>>();
  for (const entry of ctx.index.history) {
    if (entry.op === 'claim') bodies.set(entry.claimId, (bodies.get(entry.claimId) ?? new Set()).add(JSON.stringify(entry.request ?? {})));
  }
  for (const entry of ctx.index.history) {
    if (entry.op !== 'claim' || entry.status !== 409 || errorCodeOf(entry) !== 'claim.mismatch' || bodies.get(entry.claimId)?.size !== 1) continue;
    ctx.violations.push({ kind: 'claim-two-sets', message: `claim ${entry.claimId} retried with the same request was answered 409 claim.mismatch (#${entry.id})`, details: { entry } });
  }
  for (const [claimId, forClaim] of sets) {
    if (forClaim.size < 2) continue;
    const shown = [...forClaim].map(([set, id]) => `[${set}] (#${id})`).join(' vs ');
    ctx.violations.push({ kind: 'claim-two-sets', message: `claim ${claimId} answered 200 with different servers: ${shown}`, details: { claimId, sets: [...forClaim.keys()] } });
  }
}

/** 3a. Group claims answered with exactly `count` servers, on distinct nodes when asked. */
export function checkClaimAnswersComplete(ctx: Context): void {
  for (const entry of ctx.index.ok) {
    if (entry.op !== 'claim') continue;
    const answer = parseClaimAnswer(entry.body);
    if (!answer) continue;
    const count = typeof entry.request?.count === 'number' ? entry.request.count : 1;
    const distinct = typeof entry.request?.distinctNodes === 'boolean' ? entry.request.distinctNodes : count > 1;
    bump(ctx, 'claim answers');
    if (answer.endpoints.length !== count) {
      ctx.violations.push({ kind: 'half-pair', message: `claim ${entry.claimId} asked for ${count} servers, answered 200 with ${answer.endpoints.length} (#${entry.id})`, details: { entry: entry.id, answer } });
    } else if (distinct && new Set(answer.nodes).size !== answer.nodes.length) {
      ctx.violations.push({ kind: 'half-pair', message: `claim ${entry.claimId} asked for distinct nodes, got ${answer.nodes.join(', ')} (#${entry.id})`, details: { entry: entry.id, answer } });
    }
  }
}

/** 3b + 5b. A live confirmed record holds all its servers (half-pair when only some, unheld-confirmed when none). */
export function checkConfirmedRecords(ctx: Context): void {
  for (const claim of ctx.claims.values()) {
    if (claim.status !== 'confirmed' || !liveUntil(claim.holdExpiresAt, ctx.now)) continue;
    bump(ctx, 'live confirmed records');
    const requested = ctx.index.claimStart.get(claim.claimId) ?? claim.createdAt ?? -Infinity;
    const held: string[] = [];
    const notHeld: string[] = [];
    for (const endpoint of claim.endpoints) {
      const server = ctx.servers.get(endpoint);
      if (busyUnder(server, claim.claimId, ctx.now, claim.attemptId)) {
        held.push(endpoint);
        continue;
      }
      const exempt = persistenceExemption(ctx.pods, endpoint, requested, server);
      if (exempt) ctx.exemptions.push({ check: 'unheld-confirmed', endpoint, claimId: claim.claimId, ...exempt });
      else notHeld.push(endpoint);
    }
    if (notHeld.length === 0) continue;
    const shown = notHeld.map((e) => `${e} (${describeServer(ctx.servers.get(e))})`).join(', ');
    if (held.length > 0) {
      ctx.violations.push({ kind: 'half-pair', message: `confirmed claim ${claim.claimId} holds ${held.join(', ')} busy but not ${shown}`, details: { claim, held, notHeld } });
    } else {
      ctx.violations.push({ kind: 'unheld-confirmed', message: `confirmed claim ${claim.claimId} (hold until ${ctx.index.at(claim.holdExpiresAt ?? Infinity)}) holds none of its servers: ${shown}`, details: { claim } });
    }
  }
}

/** 4. Every 200 agrees with the final tables. */
export function checkAnswersAgainstFinal(ctx: Context): void {
  const { index, now } = ctx;
  const byClaim = new Map<string, HistoryEntry[]>();
  for (const entry of index.ok) if (CLAIM_ROUTES.has(entry.op)) byClaim.set(entry.claimId, [...(byClaim.get(entry.claimId) ?? []), entry]);

  for (const [claimId, entries] of byClaim) {
    const record = ctx.claims.get(claimId);
    const live = record && record.status !== 'withdrawn' ? record : undefined;
    // A claim answered 200 exists, and names the servers it was answered with.
    const claimed = entries.find((e) => e.op === 'claim');
    if (claimed) {
      bump(ctx, 'claims answered 200');
      const answer = parseClaimAnswer(claimed.body);
      if (!live) {
        ctx.violations.push({ kind: 'answer-vs-final', message: `claim ${claimId} answered 200 (#${claimed.id}) but its record is ${record ? 'withdrawn' : 'missing'}`, details: { entry: claimed.id, record } });
      } else if (answer && [...answer.endpoints].sort().join(',') !== [...live.endpoints].sort().join(',')) {
        ctx.violations.push({ kind: 'answer-vs-final', message: `claim ${claimId} answered 200 with ${answer.endpoints.join(', ')} (#${claimed.id}) but its record names ${live.endpoints.join(', ')}`, details: { entry: claimed.id, record } });
      }
    }

    // Released with a 200: the record says so and no server is still held under it.
    const release = entries.find((e) => e.op === 'release');
    if (release) {
      bump(ctx, 'releases answered 200');
      if (!live || live.status !== 'released') {
        ctx.violations.push({ kind: 'answer-vs-final', message: `claim ${claimId} release answered 200 (#${release.id}) but the record is ${live?.status ?? 'missing'}`, details: { entry: release.id, record } });
      }
      for (const endpoint of live?.endpoints ?? parseClaimAnswer(release.body)?.endpoints ?? []) {
        const server = ctx.servers.get(endpoint);
        if (server && server.claimId === claimId && isHeld(server, now)) {
          ctx.violations.push({ kind: 'answer-vs-final', message: `claim ${claimId} release answered 200 (#${release.id}) but ${endpoint} is still ${describeServer(server)}`, details: { entry: release.id, server } });
        }
      }
    }

    // Confirmed with a 200, never released, hold not run out: confirmed, and every server busy under it.
    const confirmed = entries.filter((e) => parseClaimAnswer(e.body)?.status === 'confirmed');
    if (confirmed.length === 0 || index.releaseStart.has(claimId)) continue;
    const holdUntil = Math.max(...confirmed.map((e) => parseClaimAnswer(e.body)?.holdExpiresAt ?? Infinity));
    if (holdUntil <= now) continue;
    bump(ctx, 'kept confirmed claims');
    const first = confirmed[0]!;
    if (!live || live.status !== 'confirmed') {
      ctx.violations.push({ kind: 'answer-vs-final', message: `claim ${claimId} confirmed with a 200 (#${first.id}), never released, but the record is ${record?.status ?? 'missing'}`, details: { entry: first.id, record } });
    }
    const requested = index.claimStart.get(claimId) ?? first.start;
    for (const endpoint of parseClaimAnswer(first.body)?.endpoints ?? []) {
      checkKeptHold(ctx, { endpoint, claimId, requested, entry: first, what: `claim ${claimId} confirmed with a 200`, attemptId: live?.attemptId });
    }
  }

  // set-gs-busy: kept holds stay busy; a set-gs-available 200 that released leaves the server free of that id.
  const busyOk = new Map<string, HistoryEntry>();
  for (const entry of index.ok) if (entry.op === 'set-busy' && entry.endpoint) busyOk.set(busyKey(entry.endpoint, entry.claimId), busyOk.get(busyKey(entry.endpoint, entry.claimId)) ?? entry);
  for (const [key, entry] of busyOk) {
    if (index.availableStart.has(key)) continue;
    const holdUntil = parseBusyAnswer(entry.body).holdExpiresAt ?? Infinity;
    if (holdUntil <= now) continue;
    bump(ctx, 'kept set-gs-busy holds');
    checkKeptHold(ctx, { endpoint: entry.endpoint!, claimId: entry.claimId, requested: index.busyStart.get(key) ?? entry.start, entry, what: `set-gs-busy ${entry.claimId} answered 200` });
  }
  for (const entry of index.ok) {
    if (entry.op !== 'set-available' || !entry.endpoint || !isObject(entry.body) || entry.body.released !== true) continue;
    const server = ctx.servers.get(entry.endpoint);
    const retaken = (index.lastBusyStart.get(busyKey(entry.endpoint, entry.claimId)) ?? -Infinity) > entry.start;
    if (!retaken && busyUnder(server, entry.claimId, now)) {
      ctx.violations.push({ kind: 'answer-vs-final', message: `set-gs-available ${entry.claimId} on ${entry.endpoint} answered released (#${entry.id}) but the server is still ${describeServer(server)}`, details: { entry: entry.id, server } });
    }
  }
}

function checkKeptHold(ctx: Context, hold: { endpoint: string; claimId: string; requested: number; entry: HistoryEntry; what: string; attemptId?: string | undefined }): void {
  const server = ctx.servers.get(hold.endpoint);
  if (busyUnder(server, hold.claimId, ctx.now, hold.attemptId)) return;
  const exempt = persistenceExemption(ctx.pods, hold.endpoint, hold.requested, server);
  if (exempt) {
    ctx.exemptions.push({ check: 'answer-vs-final', endpoint: hold.endpoint, claimId: hold.claimId, ...exempt });
    return;
  }
  const kind = classifyLostHold(ctx.pods, hold.endpoint, hold.requested, server);
  const sentAt = server ? ctx.pods.pod(hold.endpoint, server.podUid)?.start : undefined;
  const message =
    kind === 'ingestion'
      ? `${hold.endpoint}: ${hold.what} (#${hold.entry.id}, requested ${ctx.index.at(hold.requested)}) was undone by pod ${server!.podUid}, whose event was sent at ${ctx.index.at(sentAt!)}, before the claim`
      : `${hold.endpoint}: ${hold.what} (#${hold.entry.id}), never released, hold not run out, but the server is ${describeServer(server)}` +
        (server && !ctx.pods.pod(hold.endpoint, server.podUid) ? ' (a pod no message of the run describes: see the SentTimestamp violations under ingestion)' : '');
  ctx.violations.push({ kind, message, details: { endpoint: hold.endpoint, claimId: hold.claimId, entry: hold.entry.id, server } });
}

/** 5a. A busy server with a live hold belongs to a live claim or a live set-gs-busy. */
export function checkOrphanBusy(ctx: Context): void {
  const { index, now } = ctx;
  const busyAnswered = new Set(index.ok.filter((e) => e.op === 'set-busy' && e.endpoint).map((e) => busyKey(e.endpoint!, e.claimId)));
  for (const server of ctx.servers.values()) {
    if (server.status !== 'busy' || !liveUntil(server.holdExpiresAt, now)) continue;
    bump(ctx, 'busy servers');
    const claimId = server.claimId;
    const claim = claimId ? ctx.claims.get(claimId) : undefined;
    if (
      claim &&
      claim.status === 'confirmed' &&
      claim.endpoints.includes(server.endpoint) &&
      (claim.attemptId === undefined || server.claimAttempt === undefined || claim.attemptId === server.claimAttempt) &&
      liveUntil(claim.holdExpiresAt, now)
    ) {
      continue;
    }
    if (claimId && !claim) {
      const key = busyKey(server.endpoint, claimId);
      if (busyAnswered.has(key) && !index.availableStart.has(key)) continue; // a live set-gs-busy hold
      // A set-gs-busy that answered 200 (or may have landed: 503, timeout) whose every release
      // attempt had an unknown outcome is still a live hold: a 503 release may not have applied,
      // and the hold itself bounds how long the server stays out of the pool.
      const requestsForId = index.history.filter((e) => e.endpoint === server.endpoint && e.claimId === claimId);
      const mayHold = requestsForId.some((e) => e.op === 'set-busy' && (e.status === 200 || unknownOutcome(e.status)));
      const releasedForSure = requestsForId.some((e) => e.op === 'set-available' && e.status === 200);
      if (mayHold && !releasedForSure && requestsForId.some((e) => e.op === 'set-available')) {
        ctx.exemptions.push({ check: 'orphan-busy', endpoint: server.endpoint, claimId, reason: 'every release attempt had an unknown outcome (503 or timeout); the hold bounds it', detail: `hold until ${index.at(server.holdExpiresAt ?? Infinity)}` });
        continue;
      }
      const outcomes = index.history
        .filter((e) => e.endpoint === server.endpoint && e.claimId === claimId)
        .map((e) => `${e.op} ${e.status}${errorCodeOf(e) ? ` ${errorCodeOf(e)}` : ''} at ${index.at(e.start)}`);
      const why = !index.busyStart.has(key)
        ? 'no client ever asked for it'
        : index.availableStart.has(key)
          ? `set-gs-available was sent at ${index.at(index.availableStart.get(key)!)}`
          : 'set-gs-busy never answered 200';
      const requests = outcomes.length ? ` (requests: ${outcomes.join(', ')}; an earlier attempt may have landed late)` : '';
      ctx.violations.push({ kind: 'orphan-busy', message: `${server.endpoint} busy under set-gs-busy id ${claimId} (hold until ${index.at(server.holdExpiresAt ?? Infinity)}), but ${why}${requests}`, details: { server } });
      continue;
    }
    const why = !claimId ? 'no claim id' : `claim record ${claim!.status}${claim!.attemptId !== server.claimAttempt ? ` (attempt ${claim!.attemptId}, server has ${server.claimAttempt})` : ''}`;
    ctx.violations.push({ kind: 'orphan-busy', message: `${server.endpoint} busy under ${claimId ?? '-'} (hold until ${index.at(server.holdExpiresAt ?? Infinity)}) without a live claim: ${why}`, details: { server, claim } });
  }
}

/** 6. Once leases ran out, every active, fresh server that nobody holds is claimable. */
export function checkClaimable(ctx: Context): void {
  for (const server of ctx.servers.values()) {
    if (server.phase !== 'active' || server.status === 'draining' || server.status === 'terminated') continue;
    if (server.freshUntil <= ctx.now || isHeld(server, ctx.now)) continue;
    bump(ctx, 'free servers');
    if (server.availableAt > ctx.now) {
      ctx.violations.push({
        kind: 'not-claimable',
        message: `${server.endpoint} is ${server.status}, not held, fresh, but availableAt is ${ctx.index.at(server.availableAt)} (now ${ctx.index.at(ctx.now)})`,
        details: { server },
      });
    }
  }
}

/** The state the in-order history of these events ends in (pods by sentAt, a pod's events by seq). */
export function foldEvents(events: GameServerLifecycleEvent[]): StoredPodState | undefined {
  const ordered = [...events].sort((a, b) => a.sentAt - b.sentAt || (a.podUid < b.podUid ? -1 : a.podUid > b.podUid ? 1 : a.seq - b.seq));
  let state: StoredPodState | undefined;
  for (const event of ordered) {
    const decision = decideOrdering(state, event);
    if (decision === 'replace') state = { podUid: event.podUid, seq: event.seq, sentAt: event.sentAt, phase: phaseOfEvent(event.event) };
    else if (decision === 'advance') state = { podUid: event.podUid, seq: event.seq, sentAt: event.sentAt, phase: laterPhase(state!.phase, phaseOfEvent(event.event)) };
    else if (decision === 'escalate') state = { ...state!, phase: laterPhase(state!.phase, phaseOfEvent(event.event)) };
  }
  return state;
}

/** 7. Each endpoint ends in the state of its newest event (v1: pod, seq, phase; legacy: phase). */
export function checkIngestion(ctx: Context): void {
  for (const [endpoint, events] of ctx.pods.byEndpoint) {
    const expected = foldEvents(events.map((e) => e.event));
    if (!expected) continue;
    bump(ctx, 'endpoints folded');
    const record = ctx.servers.get(endpoint);
    const legacy = events.every((e) => e.format === 'legacy');
    const mismatch = !record
      ? 'no record'
      : legacy
        ? record.phase !== expected.phase
          ? `phase ${record.phase}, expected ${expected.phase}`
          : undefined
        : record.podUid !== expected.podUid || record.seq !== expected.seq || record.phase !== expected.phase
          ? `pod ${record.podUid} seq ${record.seq} ${record.phase}, expected pod ${expected.podUid} seq ${expected.seq} ${expected.phase}`
          : undefined;
    if (mismatch) {
      ctx.violations.push({
        kind: 'ingestion',
        message: `${endpoint} (${legacy ? 'legacy' : 'v1'}, ${events.length} events received): ${mismatch}`,
        details: { endpoint, expected, record },
      });
    }
  }
}

/**
 * 7b. Legacy messages are ordered by SentTimestamp: the poller must see the one SQS stamped,
 * the same on every receive (else a redelivered `init` looks like a newer pod).
 */
export function checkSentTimestamps(ctx: Context): void {
  for (const message of ctx.observation.messages) {
    if (message.format !== 'legacy') continue;
    const delivery = ctx.observation.deliveries[message.messageId];
    if (!delivery) continue;
    bump(ctx, 'legacy SentTimestamps');
    if (plausibleSentTimestamp(message, delivery)) continue;
    ctx.violations.push({
      kind: 'ingestion',
      message:
        `legacy message ${message.messageId} for ${message.endpoint} was sent in [${ctx.index.at(message.sendStart)}, ${ctx.index.at(message.sendEnd)}] ` +
        `but the poller was handed SentTimestamp ${ctx.index.at(delivery.sentTimestamp)}${delivery.sentTimestampChanged ? ', and a different one on a later receive' : ''}: its pod generation and order are wrong`,
      details: { message, delivery },
    });
  }
}

/** 8. Only the poison messages end in the dead-letter queue, and all of them do. */
export function checkDeadLetters(ctx: Context): void {
  const { messages, snapshot } = ctx.observation;
  const byId = new Map(messages.map((m) => [m.messageId, m]));
  const byBody = new Map<string, (typeof messages)[number]>();
  for (const message of messages) if (!byBody.has(message.body) || message.format === 'poison') byBody.set(message.body, message);
  const deadIds = new Set<string>();
  const deadBodies = new Set<string>();
  for (const dead of snapshot.deadLetters) {
    bump(ctx, 'dead letters');
    if (dead.messageId) deadIds.add(dead.messageId);
    deadBodies.add(dead.body);
    const sent = (dead.messageId ? byId.get(dead.messageId) : undefined) ?? byBody.get(dead.body);
    if (sent?.format === 'poison') continue;
    const delivery = sent ? ctx.observation.deliveries[sent.messageId] : undefined;
    const received = delivery ? ` (received ${delivery.receives}x, first at ${ctx.index.at(delivery.firstReceivedAt)})` : '';
    ctx.violations.push({
      kind: 'dead-lettered-valid',
      message: `a ${sent ? `${sent.format} ${sent.reason}` : 'unknown'} message ended in the dead-letter queue${received}: ${dead.body.slice(0, 160)}`,
      details: { dead, sent, delivery },
    });
  }
  for (const message of messages) {
    if (message.format !== 'poison') continue;
    bump(ctx, 'poison messages');
    if (deadIds.has(message.messageId) || deadBodies.has(message.body)) continue;
    ctx.violations.push({ kind: 'poison-not-dead-lettered', message: `poison message ${message.messageId} is not in the dead-letter queue: ${message.body.slice(0, 120)}`, details: { message } });
  }
}

/** 9. No 500s. */
export function checkServerErrors(ctx: Context): void {
  for (const entry of ctx.index.history) {
    if (entry.status !== 500) continue;
    ctx.violations.push({ kind: 'http-500', message: `${entry.op} ${entry.endpoint ?? entry.claimId} answered 500 (#${entry.id} at ${ctx.index.at(entry.start)})`, details: { entry } });
  }
}

/** The queue emptied once the faults stopped (nothing stuck in a poller). */
export function checkDrained(ctx: Context): void {
  const { drain } = ctx.observation;
  if (!drain.drained) {
    ctx.violations.push({ kind: 'queue-not-drained', message: `${drain.remaining} messages still queued ${drain.waitedSeconds} s after the faults stopped`, details: { ...drain } });
  }
}

const CHECKED_COUNTERS = [
  'overlapping hold pairs',
  'claim answers',
  'live confirmed records',
  'claims answered 200',
  'releases answered 200',
  'kept confirmed claims',
  'kept set-gs-busy holds',
  'busy servers',
  'free servers',
  'endpoints folded',
  'legacy SentTimestamps',
  'dead letters',
  'poison messages',
];

/** One-line examples kept per kind beyond the first. */
const MORE_EXAMPLES = 20;

/** Runs every check. */
export function checkObservation(observation: Observation): CheckResult {
  // Times in examples count from the first message or request of the run.
  const t0 = Math.min(
    observation.history.reduce((min, e) => Math.min(min, e.start), Infinity),
    observation.messages.reduce((min, m) => Math.min(min, m.sendStart), Infinity),
  );
  const index = new HistoryIndex(observation.history, Number.isFinite(t0) ? t0 : undefined);
  const ctx: Context = {
    observation,
    index,
    pods: new PodHistory(observation),
    holds: provenHolds(index),
    servers: new Map(observation.snapshot.servers.map((s) => [s.endpoint, s])),
    claims: new Map(observation.snapshot.claims.map((c) => [c.claimId, c])),
    now: observation.snapshot.now,
    violations: [],
    exemptions: [],
    checked: Object.fromEntries(CHECKED_COUNTERS.map((name) => [name, 0])),
  };
  ctx.checked['proven holds'] = ctx.holds.length;
  checkDoubleHolds(ctx);
  checkClaimSets(ctx);
  checkClaimAnswersComplete(ctx);
  checkConfirmedRecords(ctx);
  checkAnswersAgainstFinal(ctx);
  checkOrphanBusy(ctx);
  checkClaimable(ctx);
  checkIngestion(ctx);
  checkSentTimestamps(ctx);
  checkDeadLetters(ctx);
  checkServerErrors(ctx);
  checkDrained(ctx);

  const violations = Object.fromEntries(VIOLATION_KINDS.map((kind) => [kind, { count: 0 }])) as CheckResult['violations'];
  for (const violation of ctx.violations) {
    const slot = violations[violation.kind];
    slot.count++;
    if (slot.example) (slot.more ??= []).length < MORE_EXAMPLES && slot.more!.push(violation.message);
    else slot.example = violation;
  }
  return { violations, exemptions: ctx.exemptions, checked: ctx.checked };
}

export type { ViolationKind };

/** An answer that says nothing about whether the request was applied. */
function unknownOutcome(status: HistoryEntry['status']): boolean {
  return typeof status !== 'number' || status === 503 || status >= 500;
}
