import { createHash, randomUUID } from 'node:crypto';
import { NEVER, type ClaimItem, type GameServerItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { BadRequestError, ConflictError, ErrorCodes, NotFoundError } from '../errors';
import type { CandidateCache } from '../game-servers/candidates';
import { getGameServer, getGameServers, releaseServer, setServerBusy } from '../game-servers/repo';
import type { ServerFilter } from '../game-servers/select';
import { effectiveStatus } from '../game-servers/view';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { getClaim, writeClaimTransaction } from './repo';

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

function claimRecord(claimId: string, fields: Omit<ClaimItem, 'claimId' | 'expiresAt'>): ClaimItem {
  return { claimId, ...fields, expiresAt: Math.ceil((fields.leaseExpiresAt + CLAIM_RECORD_RETENTION_MS) / 1000) };
}

/** What a successful claim write did to a listed server (the write sets exactly these fields). */
function asClaimed(item: GameServerItem, claimId: string, now: number, leaseExpiresAt?: number): GameServerItem {
  const { leaseExpiresAt: _previousLease, ...rest } = item;
  return {
    ...rest,
    claimId,
    claimedAt: now,
    version: item.version + 1,
    updatedAt: now,
    ...(leaseExpiresAt !== undefined
      ? { status: 'claimed', availableAt: leaseExpiresAt, leaseExpiresAt }
      : { status: 'busy', availableAt: NEVER }),
  };
}

async function replay(deps: Deps, existing: ClaimItem, requestHash: string): Promise<ClaimOutcome> {
  if (existing.requestHash !== requestHash) {
    throw new ConflictError(ErrorCodes.claimMismatch, `Claim id ${existing.claimId} was already used for a different request`);
  }
  const servers = await getGameServers(deps, existing.endpoints);
  return { kind: 'existing', claim: existing, servers: existing.endpoints.flatMap((e) => servers.get(e) ?? []) };
}

/**
 * Finds and claims `count` servers matching the request, all or nothing, under a lease.
 *
 * Each attempt takes a candidate set from the cache and writes one transaction: the claim record
 * (condition: new claim id) plus one conditional update per server (see claimServerUpdate). A
 * server lost to another claimer costs one more attempt with other candidates; an existing claim
 * id returns that claim (idempotency), or claim.mismatch when the request differs.
 * Throws BadRequestError for a lease beyond the configured maximum.
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

  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const candidates = await cache.take(filter, request.count, request.distinctNodes);
    if (!candidates) {
      // Nothing to claim; but this may be the retry of a claim that already succeeded.
      const existing = await getClaim(deps, request.claimId);
      if (existing) return replay(deps, existing, requestHash);
      deps.metrics.addMetric('ClaimNoneAvailable', MetricUnit.Count, 1);
      return { kind: 'none-available', reason: 'empty' };
    }
    const now = deps.clock();
    const leaseExpiresAt = now + request.leaseSeconds * 1000;
    const claim = claimRecord(request.claimId, {
      status: 'leased',
      endpoints: candidates.map((c) => c.endpoint),
      requestHash,
      createdAt: now,
      leaseExpiresAt,
      ...(request.caller ? { caller: request.caller } : {}),
    });
    const result = await writeClaimTransaction(
      deps,
      claim,
      candidates.map((c) => ({ endpoint: c.endpoint, leaseExpiresAt, expect: { ...filter, node: c.node } })),
      now,
    );
    switch (result.kind) {
      case 'written':
        deps.metrics.addMetric('ClaimSucceeded', MetricUnit.Count, 1);
        deps.metrics.addMetric('ClaimLatency', MetricUnit.Milliseconds, Date.now() - started);
        deps.logger.info('gs claimed', { claimId: request.claimId, endpoints: claim.endpoints, attempt });
        return { kind: 'claimed', claim, servers: candidates.map((c) => asClaimed(c, claim.claimId, now, leaseExpiresAt)), attempts: attempt };
      case 'claim-exists':
        cache.giveBack(candidates);
        return replay(deps, result.existing, requestHash);
      case 'servers-unavailable': {
        const lost = new Set(result.failed.map((f) => f.endpoint));
        cache.giveBack(candidates.filter((c) => !lost.has(c.endpoint)));
        cache.invalidate(filter);
        deps.metrics.addMetric('ClaimConflict', MetricUnit.Count, 1);
        break;
      }
      case 'conflict':
        cache.giveBack(candidates);
        deps.metrics.addMetric('ClaimConflict', MetricUnit.Count, 1);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
        break;
    }
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
