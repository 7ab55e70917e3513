import { createHash, randomUUID } from 'node:crypto';
import type { ClaimItem, GameServerItem } from '../../schemas/items';
import { backoffDelay, sleep } from '../backoff';
import type { Deps } from '../deps';
import { DomainError, ErrorCodes, ServiceUnavailableError } from '../errors';
import type { CandidateCache } from '../game-servers/candidates';
import { claimServer, releaseServer, setServerBusy } from '../game-servers/claim-writes';
import { getGameServer, getGameServers } from '../game-servers/records';
import type { ServerFilter } from '../game-servers/select';
import type { Actor } from '../ownership';
import { effectiveStatus } from '../game-servers/view';
import { claimRecordTtl } from './deadlines';
import { getClaim, putClaimRecord } from './repo';

export interface ClaimRequest extends ServerFilter {
  claimId: string;
  count: number;
  distinctNodes: boolean;
  leaseSeconds: number;
  /** How long a confirm (or renew) of this claim holds its servers busy. */
  holdSeconds: number;
  /** The principal making the claim: the claim and its servers belong to it. */
  owner: string;
}

/** What a claim cost on the way, for the caller's metrics. */
export interface ClaimStats {
  /** Attempts that lost a server to another claimer (each then tried other candidates). */
  conflicts: number;
  /** Servers of undone attempts whose release failed (their lease returns them). */
  undoFailures: number;
}

export type ClaimOutcome = (
  | { kind: 'claimed'; claim: ClaimItem; servers: GameServerItem[]; attempts: number }
  /** The claim id was used before (a retry): the claim as it stands, never a second one. */
  | { kind: 'existing'; claim: ClaimItem; servers: GameServerItem[] }
  | { kind: 'none-available'; reason: 'empty' | 'contention' }
) & { stats: ClaimStats };

/** Attempts (each a fresh candidate set) before a claimer under heavy contention gives up. */
export const MAX_ATTEMPTS = 10;
/** Under contention, how often and after how long a claimer looks again at a pool that seemed empty. */
const MAX_EMPTY_RETRIES = 5;
const EMPTY_RETRY_MS = 40;
/**
 * A concurrent attempt of the same claim id holds servers (seen on a refused write): how long at
 * most to wait for it to commit or give up before answering 503 (retry). Bounded well inside the
 * function timeout; it normally resolves within a round trip.
 */
const CONCURRENT_ATTEMPT_WAIT_MS = 3000;
const CONCURRENT_ATTEMPT_POLL_MS = 25;

function hashRequest(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

export function claimRequestHash(request: ClaimRequest): string {
  return hashRequest([
    'claim',
    request.count,
    request.region ?? null,
    request.group ?? null,
    Object.entries(request.labels ?? {}).sort(),
    request.distinctNodes,
    request.leaseSeconds,
    request.holdSeconds,
  ]);
}

/** What a successful claim write did to a listed server (the write sets exactly these fields). */
function asClaimed(item: GameServerItem, claimId: string, attemptId: string, owner: string, now: number, leaseExpiresAt: number): GameServerItem {
  const { holdExpiresAt: _hold, ...rest } = item;
  return {
    ...rest,
    status: 'claimed',
    claimId,
    claimAttempt: attemptId,
    owner,
    claimedAt: now,
    leaseExpiresAt,
    availableAt: leaseExpiresAt,
    version: item.version + 1,
    updatedAt: now,
  };
}

/**
 * The answer for a claim id that already has a record: that claim, or claim.mismatch — also when
 * the claim id is another principal's (whatever the caller's role: a retry answers only its own
 * caller, and another principal learns nothing of the claim's servers).
 */
async function answerExisting(deps: Deps, claim: ClaimItem, request: ClaimRequest, requestHash: string, stats: ClaimStats): Promise<ClaimOutcome> {
  if (claim.requestHash !== requestHash || (claim.owner !== undefined && claim.owner !== request.owner)) {
    throw new DomainError(ErrorCodes.claimMismatch, `Claim id ${claim.claimId} was already used for a different request`);
  }
  const servers = await getGameServers(deps, claim.endpoints);
  return { kind: 'existing', claim, servers: claim.endpoints.flatMap((endpoint) => servers.get(endpoint) ?? []), stats };
}

/**
 * Another attempt of this claim id (a retry in another function instance) holds servers and
 * has not committed yet: wait for its record, or for its lease to end (then it is dead). Returns
 * the committed record, or undefined when that attempt gave up.
 */
async function awaitConcurrentAttempt(deps: Deps, claimId: string, leaseEnd: number): Promise<ClaimItem | undefined> {
  const deadline = Math.min(leaseEnd, deps.clock() + CONCURRENT_ATTEMPT_WAIT_MS);
  for (let poll = 0; ; poll++) {
    const record = await getClaim(deps, claimId);
    if (record) return record;
    if (deps.clock() >= leaseEnd) return undefined;
    if (deps.clock() >= deadline) {
      throw new ServiceUnavailableError(`Claim ${claimId} is being made by a concurrent request; retry`);
    }
    await sleep(backoffDelay(poll + 1, { baseMs: CONCURRENT_ATTEMPT_POLL_MS, maxMs: 8 * CONCURRENT_ATTEMPT_POLL_MS, jitter: 'none' }));
  }
}

/**
 * Finds and claims `count` servers matching the request, all or nothing, under a lease.
 *
 * Protocol (README "Claims under faults"): an attempt takes a candidate set and writes every
 * server conditionally (see claimServerUpdate), side by side, stamped with a fresh attempt id.
 * Only when every server carries the attempt does it write the claim record (condition: the
 * claim id is new). That record is the commit point: it is written once per claim id, after
 * its servers, and never withdrawn, so every answer drawn from it is final.
 * - An attempt that lost a server race undoes what it got (releases conditioned on its own
 *   attempt) and tries other candidates. No record names it, so nobody was told of it.
 * - An attempt whose record write finds another attempt's record gives its servers back and
 *   answers that claim (idempotency: concurrent retries of one claim id all get one set).
 * - A write whose outcome is unknown (the SDK gave up on a timeout or a lost connection) is
 *   never undone blindly: the error is answered 503 and the caller retries with its claim id.
 *   Servers of an attempt that did not commit return to the pool when its lease runs out.
 * Throws claim.lease_too_long / claim.hold_too_long, claim.mismatch, and the
 * client's errors (transient ones become 503).
 */
export async function claimGameServers(deps: Deps, cache: CandidateCache, request: ClaimRequest): Promise<ClaimOutcome> {
  if (request.leaseSeconds > deps.config.maxLeaseSeconds) {
    throw new DomainError(ErrorCodes.leaseTooLong, `leaseSeconds may be at most ${deps.config.maxLeaseSeconds}`);
  }
  if (request.holdSeconds > deps.config.maxHoldSeconds) {
    throw new DomainError(ErrorCodes.holdTooLong, `holdSeconds may be at most ${deps.config.maxHoldSeconds}`);
  }
  const requestHash = claimRequestHash(request);
  const filter: ServerFilter = {
    ...(request.region !== undefined ? { region: request.region } : {}),
    ...(request.group !== undefined ? { group: request.group } : {}),
    ...(request.labels !== undefined ? { labels: request.labels } : {}),
  };
  const stats: ClaimStats = { conflicts: 0, undoFailures: 0 };
  const release = async (servers: GameServerItem[], attemptId: string) => {
    stats.undoFailures += await undoAttempt(deps, request.claimId, attemptId, servers);
  };

  let emptyRetries = 0;
  /** Lease end of a concurrent attempt of this claim id, seen on a server it holds. */
  let concurrentLeaseEnd: number | undefined;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const candidates = await cache.take(filter, request.count, request.distinctNodes);
    if (!candidates && (stats.conflicts > 0 || cache.holdsBack()) && emptyRetries < MAX_EMPTY_RETRIES) {
      // Under contention, servers are briefly held by attempts that are being undone (a pair
      // whose second server was lost) or by concurrent claims in this instance: look again
      // shortly before calling the pool empty.
      emptyRetries++;
      cache.invalidate(filter);
      await sleep(backoffDelay(emptyRetries, { baseMs: EMPTY_RETRY_MS, jitter: 'equal' }));
      continue;
    }
    if (!candidates) {
      // Nothing to claim; but this may be the retry of a claim that already committed, or that
      // a concurrent request is committing right now.
      const existing =
        (await getClaim(deps, request.claimId)) ??
        (concurrentLeaseEnd !== undefined ? await awaitConcurrentAttempt(deps, request.claimId, concurrentLeaseEnd) : undefined);
      if (existing) return answerExisting(deps, existing, request, requestHash, stats);
      if (concurrentLeaseEnd !== undefined) {
        concurrentLeaseEnd = undefined; // that attempt gave up: its servers are back
        cache.invalidate(filter);
        continue;
      }
      return { kind: 'none-available', reason: 'empty', stats };
    }

    const attemptId = randomUUID();
    const now = deps.clock();
    const leaseExpiresAt = now + request.leaseSeconds * 1000;
    const writes = await Promise.allSettled(
      candidates.map((c) =>
        claimServer(deps, {
          endpoint: c.endpoint,
          claimId: request.claimId,
          attemptId,
          owner: request.owner,
          now,
          leaseExpiresAt,
          expect: { ...filter, node: c.node },
        }),
      ),
    );
    const held = candidates.filter((_, i) => writes[i]!.status === 'fulfilled' && (writes[i] as PromiseFulfilledResult<{ kind: string }>).value.kind === 'claimed');

    // Commit only with time left on the lease: a record naming servers whose lease already ran
    // out would hand out servers another claimer may be taking right now.
    if (held.length === candidates.length && deps.clock() < leaseExpiresAt) {
      const claim: ClaimItem = {
        claimId: request.claimId,
        status: 'leased',
        endpoints: candidates.map((c) => c.endpoint),
        requestHash,
        attemptId,
        createdAt: now,
        leaseSeconds: request.leaseSeconds,
        leaseExpiresAt,
        holdSeconds: request.holdSeconds,
        owner: request.owner,
        expiresAt: claimRecordTtl(leaseExpiresAt),
      };
      // A failure here leaves the outcome unknown: the servers are kept (see above).
      const commit = await putClaimRecord(deps, claim);
      if (commit.kind === 'written') {
        deps.logger.info('gs claimed', { claimId: request.claimId, endpoints: claim.endpoints, attempt });
        return { kind: 'claimed', claim, servers: candidates.map((c) => asClaimed(c, request.claimId, attemptId, request.owner, now, leaseExpiresAt)), attempts: attempt, stats };
      }
      // Another attempt of this claim id committed first; ours was never visible to anyone.
      await release(held, attemptId);
      cache.giveBack(held);
      return answerExisting(deps, commit.existing, request, requestHash, stats);
    }

    // Not committed, so nobody was told of this attempt: undo it as a whole.
    await release(held, attemptId);
    cache.giveBack(held);
    const failure = writes.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;
    for (const write of writes) {
      const current = write.status === 'fulfilled' && write.value.kind === 'refused' ? write.value.current : undefined;
      if (current?.claimId === request.claimId && current.status === 'claimed' && current.leaseExpiresAt !== undefined) {
        concurrentLeaseEnd = Math.max(concurrentLeaseEnd ?? 0, current.leaseExpiresAt);
      }
    }
    // A server went to someone else (or to a concurrent attempt of this claim): the listing is stale.
    stats.conflicts++;
    cache.invalidate(filter);
  }
  const existing = await getClaim(deps, request.claimId);
  if (existing) return answerExisting(deps, existing, request, requestHash, stats);
  return { kind: 'none-available', reason: 'contention', stats };
}

/**
 * Releases the servers an uncommitted attempt holds (each only if the attempt still holds it).
 * Best effort: a release that fails leaves the server to its lease, which returns it.
 */
async function undoAttempt(deps: Deps, claimId: string, attemptId: string, servers: GameServerItem[]): Promise<number> {
  const results = await Promise.allSettled(servers.map((s) => releaseServer(deps, s.endpoint, claimId, deps.clock(), { attemptId })));
  const failed = results.filter((r) => r.status === 'rejected').length;
  if (failed > 0) {
    deps.logger.warn('claim attempt undo incomplete; its lease returns the servers', { claimId, attemptId, failed });
  }
  return failed;
}

export interface SetBusyRequest {
  endpoint: string;
  claimId?: string;
  holdSeconds: number;
  /** The principal making the hold: the hold belongs to it. */
  owner: string;
}

/**
 * Claims one named server straight to busy (the replaced sample's route, made atomic) in a single
 * conditional write, held until `holdSeconds` from now. The claim id (generated when absent) is
 * stored on the server and is the idempotency key: repeating the call with it returns the same
 * server and renews the hold — for its owner only: another principal with the same claim id finds
 * the server busy like anyone else. The server is returned to the pool with releaseBusyServer.
 * Throws claim.hold_too_long, gs.not_found and gs.not_available (with the current status:
 * claimed, busy, draining, stale or terminated).
 */
export async function setGameServerBusy(deps: Deps, request: SetBusyRequest): Promise<{ claimId: string; server: GameServerItem }> {
  const { holdSeconds } = request;
  if (holdSeconds > deps.config.maxHoldSeconds) {
    throw new DomainError(ErrorCodes.holdTooLong, `holdSeconds may be at most ${deps.config.maxHoldSeconds}`);
  }
  const claimId = request.claimId ?? randomUUID();
  const now = deps.clock();
  const result = await setServerBusy(deps, { endpoint: request.endpoint, claimId, owner: request.owner, now, holdExpiresAt: now + holdSeconds * 1000 });
  if (result.kind === 'busy') {
    deps.logger.info('gs set busy', { endpoint: request.endpoint, claimId });
    return { claimId, server: result.item };
  }
  const current = result.current;
  if (!current) throw new DomainError(ErrorCodes.gsNotFound, `Game server ${request.endpoint} not found`);
  const status = current.freshUntil <= now && effectiveStatus(current, now) === 'available' ? 'stale' : effectiveStatus(current, now);
  throw new DomainError(ErrorCodes.gsNotAvailable, `Game server ${request.endpoint} is not available (${status})`, { status });
}

/**
 * Returns a server set busy under `claimId` (set-gs-busy) to the pool; a server this claim id no
 * longer holds — or holds through a claim record, which is released as a whole with
 * /claims/{claimId}/release, or holds for another principal (unless the actor is an admin) — is
 * left as it is (`released: false`: the same answer whether the claim id exists or not).
 * Throws gs.not_found.
 */
export async function releaseBusyServer(deps: Deps, endpoint: string, claimId: string, actor: Actor): Promise<{ released: boolean; server: GameServerItem }> {
  const outcome = await releaseServer(deps, endpoint, claimId, deps.clock(), { directHold: actor });
  const server = await getGameServer(deps, endpoint);
  if (!server) throw new DomainError(ErrorCodes.gsNotFound, `Game server ${endpoint} not found`);
  return { released: outcome === 'released', server };
}
