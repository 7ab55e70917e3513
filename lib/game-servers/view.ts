import { NEVER, type GameServerItem, type GameServerStatus } from '../../schemas/items';
import type { GameServer } from '../../schemas/http';
import type { DrainReason } from '../../schemas/primitives';
import { maySee, type Actor } from '../ownership';

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The status a client sees: a claim whose lease has run out, or a busy server whose hold has run
 * out, is available again (the record is only rewritten by the next claim; the availability
 * index already offers it).
 */
export function effectiveStatus(item: GameServerItem, now: number): GameServerStatus {
  if (item.status === 'claimed' && item.leaseExpiresAt !== undefined && item.leaseExpiresAt <= now) return 'available';
  if (item.status === 'busy' && item.holdExpiresAt !== undefined && item.holdExpiresAt <= now) return 'available';
  return item.status;
}

/** Whether a server (not terminated) has stopped heartbeating: stale, shown so and never offered. */
export function isStale(item: Pick<GameServerItem, 'freshUntil'>, status: GameServerStatus, now: number): boolean {
  return status !== 'terminated' && item.freshUntil !== NEVER && item.freshUntil <= now;
}

/**
 * A stored record as every route returns it, to `viewer`: a claimed or busy server shows its
 * status to everyone, its claim id only to the claim's owner (and admins). Public views (none
 * today) pass no viewer and see no claim id.
 */
export function toGameServer(item: GameServerItem, now: number, viewer: Actor | undefined): GameServer {
  const status = effectiveStatus(item, now);
  const holdsClaim = status === 'claimed' || status === 'busy' || ((status === 'draining' || status === 'terminated') && item.claimId !== undefined);
  return {
    endpoint: item.endpoint,
    ...(item.publicEndpoint !== undefined ? { publicEndpoint: item.publicEndpoint } : {}),
    region: item.region,
    ...(item.group !== undefined ? { group: item.group } : {}),
    node: item.node,
    status,
    lastHeartbeatAt: iso(item.lastHeartbeatAt),
    ...(item.labels !== undefined ? { labels: item.labels } : {}),
    ...(holdsClaim && item.claimId !== undefined && maySee(viewer, item.owner) ? { claimId: item.claimId } : {}),
    ...(status === 'claimed' && item.leaseExpiresAt !== undefined ? { leaseExpiresAt: iso(item.leaseExpiresAt) } : {}),
    ...(status === 'busy' && item.holdExpiresAt !== undefined ? { holdExpiresAt: iso(item.holdExpiresAt) } : {}),
    ...(item.players !== undefined ? { players: item.players } : {}),
    ...(item.capacity !== undefined ? { capacity: item.capacity } : {}),
    ...(item.lifecycle !== undefined ? { lifecycle: item.lifecycle } : {}),
    ...(item.instanceId !== undefined ? { instanceId: item.instanceId } : {}),
    ...(isStale(item, status, now) ? { stale: true } : {}),
  };
}

/** Why a draining server drains: its node's drain (and what its watcher said), or the pod itself. */
export function drainReason(item: Pick<GameServerItem, 'nodeDraining' | 'nodeDrainReason'>): DrainReason {
  if (!item.nodeDraining) return 'sigterm';
  if (item.nodeDrainReason === 'spot-interruption') return 'spot-interruption';
  if (item.nodeDrainReason === 'rebalance-recommendation') return 'rebalance';
  return 'node-drain';
}
