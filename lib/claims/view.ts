import type { Claim } from '../../schemas/http';
import type { ClaimItem, GameServerItem } from '../../schemas/items';
import { toGameServer } from '../game-servers/view';

const iso = (ms: number) => new Date(ms).toISOString();

/** A claim as the claim routes return it. */
export function toClaim(claim: ClaimItem, servers: GameServerItem[], now: number): Claim {
  return {
    claimId: claim.claimId,
    status: claim.status,
    servers: servers.map((server) => toGameServer(server, now)),
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
