import { createHash, randomUUID } from 'node:crypto';
import type { ClaimItem, GameServerItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { AppError, BadRequestError, ConflictError, ErrorCodes, NotFoundError } from '../errors';
import type { CandidateCache } from '../game-servers/candidates';
import { claimServer, getGameServer, getGameServers, releaseServer, setServerBusy } from '../game-servers/repo';
import type { ServerFilter } from '../game-servers/select';
import { effectiveStatus } from '../game-servers/view';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { withdrawClaimRecord, getClaim, putClaimRecord } from './repo';

export interface ClaimRequest extends ServerFilter {
  claimId: string;
  count: number;
  distinctNodes: boolean;
  leaseSeconds: number;
  caller?: string;
}

export type ClaimOutcome =
  | { kind: 'claimed'; claim: ClaimItem; servers: GameServerItem[]; attempts: number }
  /** The claim id was used before (a retry): the claim as it stands, never a second one. */
  | { kind: 'existing'; claim: ClaimItem; servers: GameServerItem[] }
  | { kind: 'none-available'; reason: 'empty' | 'contention' };

/** Attempts (each a fresh candidate set) before a claimer under heavy contention gives up. */
const MAX_ATTEMPTS = 10;
/** Claim records outlive their lease by this much before TTL removes them. */
const CLAIM_RECORD_RETENTION_MS = 7 * 86_400_000;
/**
 * A claim record and its servers are written side by side. A concurrent attempt with the same
 * claim id that finds the record while the servers are still being written waits this long (in
 * polls) for them to land before answering claim.pending.
 */
const SETTLE_POLLS = 20;
const SETTLE_POLL_MS = 50;
/** Under contention, how often and after how long a claimer looks again at a pool that seemed empty. */
const MAX_EMPTY_RETRIES = 5;
const EMPTY_RETRY_MS = 40;
/** Past this age an incomplete record is reported as it stands: its attempt is long over. */
const SETTLE_WINDOW_MS = 30_000;

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
  ]);
}

/** What a successful claim write did to a listed server (the write sets exactly these fields). */
function asClaimed(item: GameServerItem, claimId: string, attemptId: string, now: number, leaseExpiresAt: number): GameServerItem {
  return {
    ...item,
    status: 'claimed',
    claimId,
    claimAttempt: attemptId,
    claimedAt: now,
    leaseExpiresAt,
    availableAt: leaseExpiresAt,
    version: item.version + 1,
    updatedAt: now,
  };
}

const holds = (claim: ClaimItem, server: GameServerItem | undefined) =>
  server?.claimId === claim.claimId && server.claimAttempt === claim.attemptId;

/**
 * Answers for a claim id that already has a record: the same servers (never a second claim), or
 * claim.mismatch when the request differs. While the record's own attempt is still landing its
 * server writes, waits for them. Undefined: the record was withdrawn (its attempt lost a server
 * race), so the caller may attempt afresh.
 */
async function settleExisting(deps: Deps, first: ClaimItem | undefined, requestHash: string): Promise<ClaimOutcome | undefined> {
  let claim = first;
  for (let poll = 0; claim; poll++) {
    if (claim.requestHash !== requestHash) {
      throw new ConflictError(ErrorCodes.claimMismatch, `Claim id ${claim.claimId} was already used for a different request`);
    }
    const servers = await getGameServers(deps, claim.endpoints);
    const listed = claim.endpoints.flatMap((endpoint) => servers.get(endpoint) ?? []);
    const now = deps.clock();
    const settled =
      claim.status !== 'leased' ||
      claim.endpoints.every((endpoint) => holds(claim!, servers.get(endpoint))) ||
      claim.leaseExpiresAt <= now ||
      now - claim.createdAt > SETTLE_WINDOW_MS;
    if (settled) return { kind: 'existing', claim, servers: listed };
    if (poll >= SETTLE_POLLS) {
      throw new AppError(ErrorCodes.claimPending, 409, `Claim ${claim.claimId} is being written by a concurrent request; retry`, {
        retryAfterSeconds: 1,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
    claim = await getClaim(deps, claim.claimId);
  }
  return undefined;
}

/**
 * Finds and claims `count` servers matching the request, all or nothing, under a lease.
 *
 * Each attempt takes a candidate set from the cache and sends, side by side in one round trip,
 * the claim record (condition: new claim id — the idempotency key) and one conditional update per
 * server (see claimServerUpdate), all stamped with a fresh attempt id. The attempt succeeds when
 * every write does. Otherwise it is undone — the servers it got are released (only if this
 * attempt still holds them) and its record withdrawn — and the claimer tries other candidates;
 * when the record already existed, the claim it belongs to is returned instead (idempotency).
 * Each claim thus costs single-item writes, never a transaction.
 * Throws BadRequestError for a lease beyond the configured maximum, ConflictError for
 * claim.mismatch, and AppError claim.pending while a concurrent request with the same id is
 * still writing.
 */
export async function claimGameServers(deps: Deps, cache: CandidateCache, request: ClaimRequest): Promise<ClaimOutcome> {
  if (request.leaseSeconds > deps.config.maxLeaseSeconds) {
    throw new BadRequestError(ErrorCodes.leaseTooLong, `leaseSeconds may be at most ${deps.config.maxLeaseSeconds}`);
  }
  const started = Date.now();
  const requestHash = claimRequestHash(request);
  const filter: ServerFilter = {
    ...(request.region !== undefined ? { region: request.region } : {}),
    ...(request.group !== undefined ? { group: request.group } : {}),
    ...(request.labels !== undefined ? { labels: request.labels } : {}),
  };

  let conflicts = 0;
  let emptyRetries = 0;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const candidates = await cache.take(filter, request.count, request.distinctNodes);
    if (!candidates && (conflicts > 0 || cache.holdsBack()) && emptyRetries < MAX_EMPTY_RETRIES) {
      // Under contention, servers are briefly held by attempts that are being undone (a pair
      // whose second server was lost) or by concurrent claims in this instance: look again
      // shortly before calling the pool empty.
      emptyRetries++;
      cache.invalidate(filter);
      await new Promise((resolve) => setTimeout(resolve, EMPTY_RETRY_MS * 2 ** (emptyRetries - 1) * (0.5 + Math.random())));
      continue;
    }
    if (!candidates) {
      // Nothing to claim; but this may be the retry of a claim that already succeeded.
      const existing = await settleExisting(deps, await getClaim(deps, request.claimId), requestHash);
      if (existing) return existing;
      deps.metrics.addMetric('ClaimNoneAvailable', MetricUnit.Count, 1);
      return { kind: 'none-available', reason: 'empty' };
    }
    const attemptId = randomUUID();
    const now = deps.clock();
    const leaseExpiresAt = now + request.leaseSeconds * 1000;
    const claim: ClaimItem = {
      claimId: request.claimId,
      status: 'leased',
      endpoints: candidates.map((c) => c.endpoint),
      requestHash,
      attemptId,
      createdAt: now,
      leaseExpiresAt,
      ...(request.caller ? { caller: request.caller } : {}),
      expiresAt: Math.ceil((leaseExpiresAt + CLAIM_RECORD_RETENTION_MS) / 1000),
    };
    const [record, ...writes] = await Promise.allSettled([
      putClaimRecord(deps, claim),
      ...candidates.map((c) =>
        claimServer(deps, { endpoint: c.endpoint, claimId: request.claimId, attemptId, now, leaseExpiresAt, expect: { ...filter, node: c.node } }),
      ),
    ]);
    const held = candidates.filter((_, i) => writes[i]!.status === 'fulfilled' && (writes[i] as PromiseFulfilledResult<{ kind: string }>).value.kind === 'claimed');
    const recordWritten = record.status === 'fulfilled' && record.value.kind === 'written';
    if (recordWritten && held.length === candidates.length) {
      deps.metrics.addMetric('ClaimSucceeded', MetricUnit.Count, 1);
      deps.metrics.addMetric('ClaimLatency', MetricUnit.Milliseconds, Date.now() - started);
      deps.logger.info('gs claimed', { claimId: request.claimId, endpoints: claim.endpoints, attempt });
      return { kind: 'claimed', claim, servers: candidates.map((c) => asClaimed(c, request.claimId, attemptId, now, leaseExpiresAt)), attempts: attempt };
    }

    // Undo the attempt as a whole: it must leave nothing behind but what others hold.
    await Promise.all([
      ...held.map((c) => releaseServer(deps, c.endpoint, request.claimId, deps.clock(), attemptId)),
      ...(recordWritten ? [withdrawClaimRecord(deps, request.claimId, attemptId)] : []),
    ]);
    cache.giveBack(held);
    const failure = [record, ...writes].find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;

    if (record.status === 'fulfilled' && record.value.kind === 'exists') {
      const existing = await settleExisting(deps, record.value.existing ?? (await getClaim(deps, request.claimId)), requestHash);
      if (existing) return existing;
      continue;
    }
    // A server went to someone else: the listing is stale.
    conflicts++;
    cache.invalidate(filter);
    deps.metrics.addMetric('ClaimConflict', MetricUnit.Count, 1);
  }
  deps.metrics.addMetric('ClaimNoneAvailable', MetricUnit.Count, 1);
  return { kind: 'none-available', reason: 'contention' };
}

export interface SetBusyRequest {
  endpoint: string;
  claimId?: string;
}

/**
 * Claims one named server straight to busy (the replaced sample's route, made atomic) in a single
 * conditional write. The claim id (generated when absent) is stored on the server and is the
 * idempotency key: repeating the call with it returns the same result; a server is returned to
 * the pool with releaseBusyServer. Throws NotFoundError (gs.not_found) and ConflictError
 * (gs.not_available with the current status: claimed, busy, draining, stale or terminated).
 */
export async function setGameServerBusy(deps: Deps, request: SetBusyRequest): Promise<{ claimId: string; server: GameServerItem }> {
  const claimId = request.claimId ?? randomUUID();
  const now = deps.clock();
  const result = await setServerBusy(deps, request.endpoint, claimId, now);
  if (result.kind === 'busy') {
    deps.metrics.addMetric('ClaimSucceeded', MetricUnit.Count, 1);
    deps.logger.info('gs set busy', { endpoint: request.endpoint, claimId });
    return { claimId, server: result.item };
  }
  const current = result.current;
  if (!current) throw new NotFoundError(ErrorCodes.gsNotFound, `Game server ${request.endpoint} not found`);
  deps.metrics.addMetric('ClaimConflict', MetricUnit.Count, 1);
  const status = current.freshUntil <= now && effectiveStatus(current, now) === 'available' ? 'stale' : effectiveStatus(current, now);
  throw new ConflictError(ErrorCodes.gsNotAvailable, `Game server ${request.endpoint} is not available (${status})`, { status });
}

/**
 * Returns a server set busy (or claimed) under `claimId` to the pool; a server this claim no
 * longer holds is left as it is (`released: false`). Throws NotFoundError.
 */
export async function releaseBusyServer(deps: Deps, endpoint: string, claimId: string): Promise<{ released: boolean; server: GameServerItem }> {
  const outcome = await releaseServer(deps, endpoint, claimId, deps.clock());
  const server = await getGameServer(deps, endpoint);
  if (!server) throw new NotFoundError(ErrorCodes.gsNotFound, `Game server ${endpoint} not found`);
  return { released: outcome === 'released', server };
}
