import { NEVER, type GameServerItem, type GameServerStatus } from '../../schemas/items';
import type { Config } from '../config';
import type { GameServerLifecycleEvent } from '../pods/events';
import { freshUntil, liveRecordTtl, ttlSeconds, type LivenessSettings } from '../pods/liveness';
import { decideOrdering, laterPhase, phaseOfEvent, type OrderingDecision, type Phase } from '../pods/ordering';
import { availabilityKeys, poolPosition } from './availability-keys';
import { withStaleWatch } from './stale-watch';

export interface LifecycleSettings extends LivenessSettings {
  availabilityShards: number;
}

/** The lifecycle settings of the config: the one place they are built. */
export function lifecycleSettings(config: Pick<Config, 'heartbeatTimeoutMs' | 'retentionMs' | 'availabilityShards'>): LifecycleSettings {
  return { heartbeatTimeoutMs: config.heartbeatTimeoutMs, retentionMs: config.retentionMs, availabilityShards: config.availabilityShards };
}

/** What the record of the server's node says. */
export interface NodeCondition {
  drained: boolean;
  /** Why it is drained, if its watcher said (kept on the server as `nodeDrainReason`). */
  reason?: string;
}

export const NODE_NOT_DRAINED: NodeCondition = { drained: false };

export type LifecycleDecision =
  | { kind: 'write'; item: GameServerItem }
  | { kind: 'ignore'; reason: 'duplicate-or-older' | 'older-pod' };

/**
 * Decides what a game-server lifecycle event does to the stored record (pure; no I/O).
 *
 * State transitions (status shown to clients):
 * - a new pod (first record, or a pod newer than the stored one): `ready`/`heartbeat` ->
 *   available; `draining` -> draining; `terminating`/`terminated` -> terminated. Claims of the
 *   previous pod are dropped with it.
 * - the same pod, newer event: its description (labels, players, ...) and heartbeat are taken;
 *   `ready`/`heartbeat` never change available/claimed/busy (a duplicated or late `ready`
 *   cannot undo a claim); `draining` -> draining and `terminating` -> terminated, keeping the
 *   claim visible.
 * - the same pod, older event: only a later phase is taken (draining/terminated), never a
 *   resurrection.
 * - an event of a newer pod that may have started before the stored claim was made never undoes
 *   it (a late copy of a legacy `init`; a pod whose first events are still in flight): the record
 *   takes the event's pod, description and phase and keeps the claim. Only a newer pod known to
 *   have started after the claim (its `ready` was sent after it) is a new pod (claim dropped).
 * - whatever the pod says, an active server whose node is drained is `draining` (availableAt
 *   NEVER, claim kept, `nodeDraining` set); once the node is un-drained it gets back what its
 *   claim fields say (see withPhase).
 * The caller writes `item` conditionally on the version it read.
 */
export function decideGameServerWrite(
  stored: GameServerItem | undefined,
  event: GameServerLifecycleEvent,
  now: number,
  settings: LifecycleSettings,
  node: NodeCondition = NODE_NOT_DRAINED,
): LifecycleDecision {
  const ordering = decideOrdering(stored, event);
  if (ordering === 'ignore') return ignoreDecision(stored, event);
  return { kind: 'write', item: itemFor(ordering, stored, event, now, settings, node) };
}

/** What the applier read of the node record a decision depends on. */
export interface NodeReading extends NodeCondition {
  /** The node the written record will name: the event's, or the stored one when only the phase moves. */
  node: string;
  /** Read afresh after the stored record disagreed with an earlier (possibly older) copy. */
  reread: boolean;
}

export type GameServerEventDecision =
  | Extract<LifecycleDecision, { kind: 'ignore' }>
  /** Read the record of `node` (a copy read for the whole batch will do) and decide again. */
  | { kind: 'read-node'; node: string }
  /** Read the record of `node` afresh and decide again (see decideGameServerEvent). */
  | { kind: 'reread-node'; node: string }
  /**
   * Write `item` if the record is unchanged since it was read. `recheckNode`: the record now
   * describes a pod it did not before (a new record, or a newer pod), which a concurrent drain
   * may not have found: read the node record again after the write (see the applier).
   */
  | { kind: 'write'; item: GameServerItem; recheckNode: boolean };

/**
 * The applier's decision for a game-server event (pure): decideGameServerWrite plus what it needs
 * read first. Call it with the node reading it asks for until it says `ignore` or `write`.
 * - The node the written record names is the event's, except when only the phase moves
 *   (`escalate`): the stored description, and so the stored node, is kept.
 * - A record that disagrees with the node reading about the drain (an active record advancing
 *   or escalating) asks once for a fresh read: the reading may be older than the record (a
 *   sweep wrote the record after the batch read the node).
 */
export function decideGameServerEvent(
  stored: GameServerItem | undefined,
  event: GameServerLifecycleEvent,
  now: number,
  settings: LifecycleSettings,
  reading: NodeReading | undefined,
): GameServerEventDecision {
  const ordering = decideOrdering(stored, event);
  if (ordering === 'ignore') return ignoreDecision(stored, event);
  const node = ordering === 'escalate' ? stored!.node : event.node;
  if (reading?.node !== node) return { kind: 'read-node', node };
  const disagrees = stored !== undefined && ordering !== 'replace' && stored.phase === 'active' && (stored.nodeDraining === true) !== reading.drained;
  if (disagrees && !reading.reread) return { kind: 'reread-node', node };
  return { kind: 'write', item: itemFor(ordering, stored, event, now, settings, reading), recheckNode: ordering === 'replace' };
}

function ignoreDecision(stored: GameServerItem | undefined, event: GameServerLifecycleEvent): Extract<LifecycleDecision, { kind: 'ignore' }> {
  return { kind: 'ignore', reason: stored && stored.podUid !== event.podUid ? 'older-pod' : 'duplicate-or-older' };
}

/** The record an event that is not ignored writes (see decideGameServerWrite). */
function itemFor(
  ordering: Exclude<OrderingDecision, 'ignore'>,
  stored: GameServerItem | undefined,
  event: GameServerLifecycleEvent,
  now: number,
  settings: LifecycleSettings,
  node: NodeCondition,
): GameServerItem {
  const version = (stored?.version ?? 0) + 1;

  if (ordering === 'escalate') {
    const current = stored!;
    const phase = laterPhase(current.phase, phaseOfEvent(event.event));
    return withPhase({ ...current, version, updatedAt: now }, phase, now, settings, node);
  }

  if (ordering === 'replace' && stored && mayPredateClaim(stored, event)) {
    return withStoredClaim(stored, event, now, settings, node, 'adopt-pod');
  }
  const heartbeatAt = Math.min(event.sentAt, now);
  const description = describe(event, settings);
  if (ordering === 'replace') {
    const item: GameServerItem = {
      ...description,
      status: 'available',
      phase: 'active',
      podUid: event.podUid,
      seq: event.seq,
      sentAt: event.sentAt,
      lastEvent: event.event,
      lastHeartbeatAt: heartbeatAt,
      freshUntil: freshUntil(event.source, heartbeatAt, settings),
      // A new pod is claimable at once, at its pool position: from the pod (not the arrival
      // time), so the record is the same whichever of the pod's events arrives first.
      availableAt: poolPosition(event.endpoint, event.podUid),
      version,
      updatedAt: now,
      ...liveRecordTtl(event.source, heartbeatAt, settings),
    };
    return withPhase(item, phaseOfEvent(event.event), now, settings, node);
  }

  // advance: same pod, newer event. Claim fields and the claim-driven status stay as stored.
  return withStoredClaim(stored!, event, now, settings, node, 'keep-pod');
}

/**
 * Whether a newer pod's event leaves the stored record's claim standing: the pod may have been
 * running on the endpoint when the claim was made (on a record that did not show it yet).
 * - sent before the claim: so was the pod's start (a legacy `init` copy delivered late, a pod
 *   that registered just before the claim);
 * - sent after the claim, but not the pod's `ready`: its start is unknown (its `ready` and first
 *   heartbeats are still in flight, or were redelivered late). Dropping the claim here would give
 *   the server the claim was made on to a second claimer, so the claim stays; if the pod did
 *   start after it, the cost is bounded: the server is back when the lease or hold runs out.
 * Only a `ready` sent after the claim proves a pod that started after it: the claim is dropped.
 */
function mayPredateClaim(stored: GameServerItem, event: GameServerLifecycleEvent): boolean {
  if (stored.claimId === undefined || stored.claimedAt === undefined) return false;
  return event.sentAt < stored.claimedAt || event.event !== 'ready';
}

/**
 * The stored record moved forward by a newer event while its claim stays as stored: the event's
 * description and heartbeat are taken.
 * - `keep-pod` (same pod): the claim-driven status stays as stored, the phase becomes the later
 *   of the two.
 * - `adopt-pod` (a newer pod whose event predates the claim: it was already running on the
 *   endpoint when the claim was made, on a record that did not show it yet): the record takes the
 *   event's pod identity and that pod's own phase — whatever the old pod said after it (drained,
 *   terminated) is no longer about this endpoint's pod — and the status the claim fields give.
 *   Its later events then advance this record.
 */
function withStoredClaim(
  current: GameServerItem,
  event: GameServerLifecycleEvent,
  now: number,
  settings: LifecycleSettings,
  node: NodeCondition,
  pod: 'keep-pod' | 'adopt-pod',
): GameServerItem {
  const heartbeatAt = Math.min(event.sentAt, now);
  const lastHeartbeatAt = Math.max(current.lastHeartbeatAt, heartbeatAt);
  const { claimId, claimAttempt, owner, claimedAt, leaseExpiresAt, holdExpiresAt, returnedAt } = current;
  const adopt = pod === 'adopt-pod';
  const { status, availableAt } = adopt ? claimDrivenState(current, event.podUid) : current;
  const item: GameServerItem = {
    ...describe(event, settings),
    ...(claimId !== undefined ? { claimId } : {}),
    ...(claimAttempt !== undefined ? { claimAttempt } : {}),
    ...(owner !== undefined ? { owner } : {}),
    ...(claimedAt !== undefined ? { claimedAt } : {}),
    ...(leaseExpiresAt !== undefined ? { leaseExpiresAt } : {}),
    ...(holdExpiresAt !== undefined ? { holdExpiresAt } : {}),
    // The last release's time stays with the endpoint's record: heartbeats must not reopen it
    // to late copies of older claims.
    ...(returnedAt !== undefined ? { returnedAt } : {}),
    ...(current.nodeDraining && !adopt ? { nodeDraining: true as const } : {}),
    status,
    availableAt,
    phase: adopt ? 'active' : current.phase,
    podUid: adopt ? event.podUid : current.podUid,
    seq: event.seq,
    sentAt: event.sentAt,
    lastEvent: event.event,
    lastHeartbeatAt,
    freshUntil: freshUntil(event.source, lastHeartbeatAt, settings),
    version: current.version + 1,
    updatedAt: now,
    ...liveRecordTtl(event.source, lastHeartbeatAt, settings),
  };
  return withPhase(item, adopt ? phaseOfEvent(event.event) : laterPhase(current.phase, phaseOfEvent(event.event)), now, settings, node);
}

export type NodeConditionDecision = { kind: 'write'; item: GameServerItem } | { kind: 'ignore' };

/**
 * What a change of its node's state does to a stored server (pure): the node-drain sweep's
 * decision. Only active pods are affected: drained -> `draining` with `nodeDraining` (claim kept,
 * out of the pool); un-drained -> back to available/claimed/busy as the claim fields say. A pod
 * that is itself draining or terminated stays as it is. `ignore` when the record already agrees.
 */
export function decideNodeConditionWrite(
  stored: GameServerItem,
  node: NodeCondition,
  now: number,
  settings: LifecycleSettings,
): NodeConditionDecision {
  if (stored.phase !== 'active') return { kind: 'ignore' };
  if ((stored.nodeDraining === true) === node.drained) return { kind: 'ignore' };
  return { kind: 'write', item: withPhase({ ...stored, version: stored.version + 1, updatedAt: now }, 'active', now, settings, node) };
}

/** The pod's self-description: every event carries it whole, and the newest one wins. */
function describe(event: GameServerLifecycleEvent, settings: LifecycleSettings) {
  return {
    endpoint: event.endpoint,
    region: event.region,
    node: event.node,
    source: event.source,
    ...(event.publicEndpoint !== undefined ? { publicEndpoint: event.publicEndpoint } : {}),
    ...(event.group !== undefined ? { group: event.group } : {}),
    ...(event.instanceId !== undefined ? { instanceId: event.instanceId } : {}),
    ...(event.lifecycle !== undefined ? { lifecycle: event.lifecycle } : {}),
    ...(event.labels !== undefined ? { labels: event.labels } : {}),
    ...(event.capacity !== undefined ? { capacity: event.capacity } : {}),
    ...(event.players !== undefined ? { players: event.players } : {}),
    ...availabilityKeys(event, settings.availabilityShards),
  };
}

/**
 * Sets the phase and the status that follows from it and from the node. Leaving the active phase
 * takes the server out of the pool for good; the claim stays visible. An active server on a
 * drained node is out of the pool until the node is un-drained (`nodeDraining` records why).
 */
function withPhase(item: GameServerItem, phase: Phase, now: number, settings: LifecycleSettings, node: NodeCondition): GameServerItem {
  return withStaleWatch(phaseApplied(item, phase, now, settings, node));
}

function phaseApplied(item: GameServerItem, phase: Phase, now: number, settings: LifecycleSettings, node: NodeCondition): GameServerItem {
  const { nodeDraining: wasNodeDraining, nodeDrainReason, ...rest } = item;
  if (phase === 'active') {
    if (node.drained) {
      const reason = node.reason ?? nodeDrainReason;
      return { ...rest, phase, status: 'draining', availableAt: NEVER, nodeDraining: true, ...(reason !== undefined ? { nodeDrainReason: reason } : {}) };
    }
    return wasNodeDraining ? { ...rest, phase, ...claimDrivenState(rest, rest.podUid) } : { ...rest, phase };
  }
  const status: GameServerStatus = phase;
  const ended = phase === 'terminated';
  return {
    ...rest,
    phase,
    status,
    availableAt: NEVER,
    ...(ended ? { expiresAt: ttlSeconds(now, settings) } : {}),
  };
}

/**
 * The status of an active server as its claim fields say (they stay untouched while its node is
 * drained: release and confirm refuse a draining server): claimed under a lease (claimable again
 * when the lease runs out), busy, or available (at once, at the pool position of the pod
 * `podUid`, like a new pod).
 */
function claimDrivenState(item: GameServerItem, podUid: string): Pick<GameServerItem, 'status' | 'availableAt'> {
  if (item.claimId === undefined) return { status: 'available', availableAt: poolPosition(item.endpoint, podUid) };
  if (item.leaseExpiresAt !== undefined) return { status: 'claimed', availableAt: item.leaseExpiresAt };
  return { status: 'busy', availableAt: item.holdExpiresAt ?? NEVER };
}
