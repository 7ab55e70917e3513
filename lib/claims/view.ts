import type { Claim } from '../../schemas/http';
import type { ClaimItem, GameServerItem } from '../../schemas/items';
import { toGameServer } from '../game-servers/view';
import type { Actor } from '../ownership';

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A claim as the claim routes return it (only ever to its owner or an admin). A server that has
 * gone to another principal's claim since shows that claim's status, not its id.
 */
export function toClaim(claim: ClaimItem, servers: GameServerItem[], now: number, viewer: Actor): Claim {
  return {
    claimId: claim.claimId,
    status: claim.status,
    ...(claim.owner !== undefined ? { owner: claim.owner } : {}),
    servers: servers.map((server) => toGameServer(server, now, viewer)),
    leaseExpiresAt: iso(claim.leaseExpiresAt),
    expired: claim.status === 'leased' && claim.leaseExpiresAt <= now,
    ...(claim.holdExpiresAt !== undefined ? { holdExpiresAt: iso(claim.holdExpiresAt) } : {}),
    holdSeconds: claim.holdSeconds,
    createdAt: iso(claim.createdAt),
    ...(claim.confirmedAt !== undefined ? { confirmedAt: iso(claim.confirmedAt) } : {}),
    ...(claim.renewedAt !== undefined ? { renewedAt: iso(claim.renewedAt) } : {}),
    ...(claim.releasedAt !== undefined ? { releasedAt: iso(claim.releasedAt) } : {}),
  };
}
