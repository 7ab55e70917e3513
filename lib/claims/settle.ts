import type { ClaimItem, GameServerItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { DomainError, ErrorCodes, ServiceUnavailableError } from '../errors';
import { confirmServerTransition, releaseServerTransition, renewServerTransition } from '../game-servers/claim-writes';
import { getGameServers } from '../game-servers/records';
import { effectiveStatus } from '../game-servers/view';
import { claimRecordTtl } from './deadlines';
import { mayAct, type Actor } from '../ownership';
import { getClaim, runClaimTransition, type TransitionResult } from './repo';

export interface ClaimWithServers {
  claim: ClaimItem;
  servers: GameServerItem[];
}

/** Re-reads after a transition lost to a concurrent one before answering 503 (retry). */
const MAX_TRANSITION_ATTEMPTS = 4;

async function withServers(deps: Deps, claim: ClaimItem): Promise<ClaimWithServers> {
  const servers = await getGameServers(deps, claim.endpoints);
  return { claim, servers: claim.endpoints.flatMap((endpoint) => servers.get(endpoint) ?? []) };
}

/**
 * The claim, if the actor may act on it. Another principal's claim is answered exactly like a
 * claim id that was never used (404), so nobody learns that it exists. The transitions'
 * conditions enforce the same rule (runClaimTransition).
 */
async function requireClaim(deps: Deps, claimId: string, actor: Actor): Promise<ClaimItem> {
  const claim = await getClaim(deps, claimId);
  if (!claim || !mayAct(actor, claim.owner)) throw new DomainError(ErrorCodes.claimNotFound, `Claim ${claimId} not found`);
  return claim;
}

/** The claim and the current records of its servers. Throws claim.not_found (also for another principal's claim). */
export async function getClaimWithServers(deps: Deps, claimId: string, actor: Actor): Promise<ClaimWithServers> {
  return withServers(deps, await requireClaim(deps, claimId, actor));
}

/** claim.lost, naming each server that no longer matches and what it is now. */
function lostError(claimId: string, changed: Extract<TransitionResult, { kind: 'servers-changed' }>['changed'], now: number): DomainError {
  const lost = changed.map(({ endpoint, current }) => ({
    endpoint,
    status: !current ? 'missing' : current.claimId !== claimId ? 'taken' : current.freshUntil <= now ? 'stale' : effectiveStatus(current, now),
  }));
  return new DomainError(ErrorCodes.claimLost, `Claim ${claimId} lost servers: ${lost.map((l) => `${l.endpoint} (${l.status})`).join(', ')}`, { lost });
}

const released = (claimId: string) => new DomainError(ErrorCodes.claimReleased, `Claim ${claimId} was released`);

/**
 * leased -> confirmed: the claim record and every one of its servers (claimed -> busy, held until
 * now + the claim's holdSeconds) in one transaction. Confirming past the lease works as long as
 * nobody claimed the servers since. Idempotent: a confirmed claim is returned as it is.
 * Throws claim.not_found, claim.released, or claim.lost with
 * the servers that went to someone else (or went stale, draining or away).
 */
export async function confirmClaim(deps: Deps, claimId: string, actor: Actor): Promise<ClaimWithServers> {
  for (let attempt = 1; attempt <= MAX_TRANSITION_ATTEMPTS; attempt++) {
    const claim = await requireClaim(deps, claimId, actor);
    if (claim.status === 'confirmed') return withServers(deps, claim);
    if (claim.status === 'released') throw released(claimId);
    const now = deps.clock();
    const holdExpiresAt = now + claim.holdSeconds * 1000;
    const result = await runClaimTransition(
      deps,
      claim,
      actor,
      { from: ['leased'], set: { status: 'confirmed', confirmedAt: now, holdExpiresAt, expiresAt: claimRecordTtl(holdExpiresAt) } },
      claim.endpoints.map((endpoint) =>
        confirmServerTransition(deps.config.tables.gameServers, { endpoint, claimId, attemptId: claim.attemptId, now, holdExpiresAt }),
      ),
    );
    if (result.kind === 'applied') {
      deps.logger.info('claim confirmed', { claimId });
      return withServers(deps, { ...claim, status: 'confirmed', confirmedAt: now, holdExpiresAt, expiresAt: claimRecordTtl(holdExpiresAt) });
    }
    if (result.kind === 'servers-changed') throw lostError(claimId, result.changed, now);
    // record-changed: a concurrent confirm or release won; look again.
  }
  throw new ServiceUnavailableError(`Claim ${claimId} is being changed concurrently; retry`);
}

/**
 * Keeps a claim alive: a leased claim's lease, or a confirmed claim's hold, moves to now +
 * `seconds` (default: the claim's own leaseSeconds / holdSeconds), on the record and every
 * server together. Works past the deadline as long as nobody claimed the servers since.
 * Throws claim.not_found, claim.lease_too_long / claim.hold_too_long, claim.released, claim.lost.
 */
export async function renewClaim(deps: Deps, claimId: string, actor: Actor, seconds?: number): Promise<ClaimWithServers> {
  for (let attempt = 1; attempt <= MAX_TRANSITION_ATTEMPTS; attempt++) {
    const claim = await requireClaim(deps, claimId, actor);
    if (claim.status === 'released') throw released(claimId);
    const leased = claim.status === 'leased';
    const max = leased ? deps.config.maxLeaseSeconds : deps.config.maxHoldSeconds;
    const duration = seconds ?? (leased ? claim.leaseSeconds : claim.holdSeconds);
    if (duration > max) {
      throw new DomainError(leased ? ErrorCodes.leaseTooLong : ErrorCodes.holdTooLong, `A ${claim.status} claim may be renewed for at most ${max} seconds`);
    }
    const now = deps.clock();
    const until = now + duration * 1000;
    const set = leased
      ? { leaseExpiresAt: until, renewedAt: now, expiresAt: claimRecordTtl(until) }
      : { holdExpiresAt: until, renewedAt: now, expiresAt: claimRecordTtl(until) };
    const result = await runClaimTransition(
      deps,
      claim,
      actor,
      { from: [claim.status], set },
      claim.endpoints.map((endpoint) =>
        renewServerTransition(deps.config.tables.gameServers, {
          endpoint,
          claimId,
          attemptId: claim.attemptId,
          now,
          status: leased ? 'claimed' : 'busy',
          until,
        }),
      ),
    );
    if (result.kind === 'applied') {
      deps.logger.info('claim renewed', { claimId, until });
      return withServers(deps, { ...claim, ...set });
    }
    if (result.kind === 'servers-changed') throw lostError(claimId, result.changed, now);
  }
  throw new ServiceUnavailableError(`Claim ${claimId} is being changed concurrently; retry`);
}

/**
 * Releases a claim: the record becomes released and every server it still holds returns to the
 * pool (a draining or terminated one only drops the claim), in one transaction — never a
 * released record with held servers, nor free servers under a live record. Servers that went to
 * someone else are left alone. Idempotent: a released claim answers with the servers its release
 * returned. Throws claim.not_found.
 */
export async function releaseClaim(deps: Deps, claimId: string, actor: Actor): Promise<ClaimWithServers & { released: string[] }> {
  for (let attempt = 1; attempt <= MAX_TRANSITION_ATTEMPTS; attempt++) {
    const claim = await requireClaim(deps, claimId, actor);
    if (claim.status === 'released') return { ...(await withServers(deps, claim)), released: claim.releasedEndpoints ?? [] };
    const current = await getGameServers(deps, claim.endpoints);
    const held = claim.endpoints
      .map((endpoint) => current.get(endpoint))
      .filter((server): server is GameServerItem => server?.claimId === claimId && server.claimAttempt === claim.attemptId);
    const returned = held.filter((server) => server.status === 'claimed' || server.status === 'busy').map((server) => server.endpoint);
    const now = deps.clock();
    const set = { status: 'released' as const, releasedAt: now, releasedEndpoints: returned, expiresAt: claimRecordTtl(now) };
    const result = await runClaimTransition(
      deps,
      claim,
      actor,
      { from: ['leased', 'confirmed'], set },
      held.map((server) =>
        releaseServerTransition(deps.config.tables.gameServers, { endpoint: server.endpoint, claimId, attemptId: claim.attemptId, now, status: server.status }),
      ),
    );
    if (result.kind === 'applied') {
      deps.logger.info('claim released', { claimId, returned });
      return { ...(await withServers(deps, { ...claim, ...set })), released: returned };
    }
    // A server changed between the read and the transaction (a drain, a lease taken over), or a
    // concurrent confirm/release won: read both again.
  }
  throw new ServiceUnavailableError(`Claim ${claimId} is being changed concurrently; retry`);
}
