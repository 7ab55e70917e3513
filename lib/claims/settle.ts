import type { ClaimItem, GameServerItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { AppError, ConflictError, ErrorCodes, NotFoundError } from '../errors';
import { getGameServers, releaseServer } from '../game-servers/repo';
import { effectiveStatus } from '../game-servers/view';
import { confirmClaimTransaction, getClaim, markClaimReleased } from './repo';

export interface ClaimWithServers {
  claim: ClaimItem;
  servers: GameServerItem[];
}

async function withServers(deps: Deps, claim: ClaimItem): Promise<ClaimWithServers> {
  const servers = await getGameServers(deps, claim.endpoints);
  return { claim, servers: claim.endpoints.flatMap((endpoint) => servers.get(endpoint) ?? []) };
}

async function requireClaim(deps: Deps, claimId: string): Promise<ClaimItem> {
  const claim = await getClaim(deps, claimId);
  if (!claim) throw new NotFoundError(ErrorCodes.claimNotFound, `Claim ${claimId} not found`);
  return claim;
}

/** The claim and the current records of its servers. Throws NotFoundError. */
export async function getClaimWithServers(deps: Deps, claimId: string): Promise<ClaimWithServers> {
  return withServers(deps, await requireClaim(deps, claimId));
}

/**
 * leased -> confirmed; its servers claimed -> busy, all or nothing. Confirming past the lease
 * works as long as nobody claimed the servers since. Idempotent for a confirmed claim.
 * Throws NotFoundError (claim.not_found) and ConflictError: claim.released, or claim.lost with
 * the servers that went to someone else (or went stale, draining or away).
 */
export async function confirmClaim(deps: Deps, claimId: string): Promise<ClaimWithServers> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    const claim = await requireClaim(deps, claimId);
    if (claim.status === 'confirmed') return withServers(deps, claim);
    if (claim.status === 'released') throw new ConflictError(ErrorCodes.claimReleased, `Claim ${claimId} was released`);
    const now = deps.clock();
    const result = await confirmClaimTransaction(deps, claim, now);
    if (result.kind === 'confirmed') {
      deps.logger.info('claim confirmed', { claimId });
      return withServers(deps, { ...claim, status: 'confirmed', confirmedAt: now });
    }
    if (result.kind === 'servers-lost') {
      const lost = result.lost.map(({ endpoint, current }) => ({
        endpoint,
        status: !current ? 'missing' : current.claimId !== claimId ? 'taken' : current.freshUntil <= now ? 'stale' : effectiveStatus(current, now),
      }));
      throw new ConflictError(ErrorCodes.claimLost, `Claim ${claimId} lost servers: ${lost.map((l) => `${l.endpoint} (${l.status})`).join(', ')}`, { lost });
    }
    // claim-changed (a concurrent confirm or release) or a transaction conflict: look again.
  }
  throw new AppError(ErrorCodes.claimLost, 409, `Claim ${claimId} is contended; retry`, { retryAfterSeconds: 1 });
}

/**
 * Returns the claim's servers to the pool (only those this claim still holds; servers that are
 * draining or were re-claimed stay as they are) and marks the claim released. Idempotent.
 * Throws NotFoundError.
 */
export async function releaseClaim(deps: Deps, claimId: string): Promise<ClaimWithServers & { released: string[] }> {
  const existing = await requireClaim(deps, claimId);
  const now = deps.clock();
  const outcomes = await Promise.all(
    existing.endpoints.map(async (endpoint) => ({ endpoint, outcome: await releaseServer(deps, endpoint, claimId, now) })),
  );
  const claim = await markClaimReleased(deps, claimId, now);
  deps.logger.info('claim released', { claimId });
  return { ...(await withServers(deps, claim)), released: outcomes.filter((o) => o.outcome === 'released').map((o) => o.endpoint) };
}
