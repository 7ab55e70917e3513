import { dataSchemaUri, type EventData, type EventType, type NotificationEvent } from '../../schemas/events';
import type { GameServerItem, GameServerStatus, LoadBalancerItem } from '../../schemas/items';
import { drainReason, effectiveStatus, toGameServer } from '../game-servers/view';
import { toLoadBalancer } from '../load-balancers/view';

/** Subscribers are the operator's own systems: they see claim ids, as an admin does. */
const SUBSCRIBER = { principal: 'notifications', admin: true };

const iso = (ms: number) => new Date(ms).toISOString();
const HELD: ReadonlySet<GameServerStatus> = new Set(['claimed', 'busy']);

/** One change of a record, as its stream tells it: the image before (none: new) and after (none: deleted). */
export interface RecordChange<T> {
  old?: T;
  new?: T;
}

type Draft = { [K in EventType]: { type: K; data: EventData<K> } }[EventType];

/**
 * The events one change of a game-server record means (pure; in the order they happened).
 * Statuses are compared as clients see them (effectiveStatus), each at its record's own write time:
 * a lease or hold that ran out shows as `available` from the first write after it (a heartbeat).
 *
 * - stale mark set (the stale sweep): `gs.stale`, and `claim.lost` if a claim held it then;
 * - held (claimed/busy) by a claim, then not held by it any more:
 *   - claim fields gone, in the pool: `gs.released` then `gs.available` (released);
 *   - same claim, deadline passed: `gs.available` (lease-expired / hold-expired);
 * - to `claimed` / `busy` (or to another claim): `gs.claimed` / `gs.busy`;
 * - to `draining` / `terminated`: `gs.draining` (with its reason) / `gs.terminated`, and
 *   `claim.lost` if a live claim held it just before (once: draining -> terminated tells no one
 *   again);
 * - to `available` otherwise: a new pod (`registered`; `claim.lost` if it dropped a live claim of
 *   the pod before it) or its node un-drained (`undrained`).
 * Anything else (heartbeats, renewals, a late copy that changed nothing) is no event. A deleted
 * record (TTL, long after `gs.terminated`) is none either.
 */
export function gameServerEvents(change: RecordChange<GameServerItem>): Draft[] {
  const { old, new: current } = change;
  if (!current) return [];
  const before = old ? effectiveStatus(old, old.updatedAt) : undefined;
  const after = effectiveStatus(current, current.updatedAt);
  const base = { server: toGameServer(current, current.updatedAt, SUBSCRIBER), previousStatus: before ?? null, sequence: current.version };
  const drafts: Draft[] = [];
  const oldClaim = old?.claimId !== undefined ? { claimId: old.claimId, ...(old.owner !== undefined ? { owner: old.owner } : {}) } : undefined;
  const newClaim = current.claimId !== undefined ? { claimId: current.claimId, ...(current.owner !== undefined ? { owner: current.owner } : {}) } : undefined;
  // The claim that held the server before the change, if it still held it at the change's time.
  const liveBefore = old && oldClaim && HELD.has(effectiveStatus(old, current.updatedAt)) ? oldClaim : undefined;

  if (current.staleAt !== undefined && old?.staleAt === undefined) {
    drafts.push({ type: 'gs.stale', data: { ...base, lastHeartbeatAt: iso(current.lastHeartbeatAt), staleAt: iso(current.staleAt), ...(newClaim ?? {}) } });
    if (liveBefore) drafts.push({ type: 'claim.lost', data: { ...base, ...liveBefore, endpoint: current.endpoint, lost: 'stale' } });
  }

  const sameClaim = old?.claimId === current.claimId;
  if (before === after && sameClaim) return drafts;

  switch (after) {
    case 'claimed':
      if (before !== 'claimed' || !sameClaim) drafts.push({ type: 'gs.claimed', data: { ...base, ...newClaim!, leaseExpiresAt: iso(current.leaseExpiresAt!) } });
      break;
    case 'busy':
      if (before !== 'busy' || !sameClaim) drafts.push({ type: 'gs.busy', data: { ...base, ...newClaim!, holdExpiresAt: iso(current.holdExpiresAt!) } });
      break;
    case 'draining':
    case 'terminated': {
      if (before === after) break;
      if (after === 'draining') drafts.push({ type: 'gs.draining', data: { ...base, reason: drainReason(current), ...(newClaim ?? {}) } });
      else drafts.push({ type: 'gs.terminated', data: { ...base, ...(newClaim ?? {}) } });
      if (liveBefore) drafts.push({ type: 'claim.lost', data: { ...base, ...liveBefore, endpoint: current.endpoint, lost: after } });
      break;
    }
    case 'available': {
      if (oldClaim && !newClaim && old!.podUid === current.podUid && old!.status !== 'draining' && old!.status !== 'terminated') {
        drafts.push({ type: 'gs.released', data: { ...base, ...oldClaim } });
        drafts.push({ type: 'gs.available', data: { ...base, reason: 'released', ...oldClaim } });
      } else if (sameClaim && newClaim && before !== 'available' && current.freshUntil > current.updatedAt) {
        // A stale server is not claimable whatever its lease says: only `gs.stale` tells of it.
        const reason = current.status === 'busy' ? 'hold-expired' : 'lease-expired';
        drafts.push({ type: 'gs.available', data: { ...base, reason, ...newClaim } });
      } else if (!old || old.podUid !== current.podUid) {
        drafts.push({ type: 'gs.available', data: { ...base, reason: 'registered' } });
        // A new pod took the endpoint and dropped the claim its predecessor held: that pod is gone.
        if (liveBefore) drafts.push({ type: 'claim.lost', data: { ...base, ...liveBefore, endpoint: current.endpoint, lost: 'terminated' } });
      } else if (before === 'draining') {
        drafts.push({ type: 'gs.available', data: { ...base, reason: 'undrained' } });
      }
      break;
    }
  }
  return drafts;
}

const LB_STATUS_EVENT = { active: 'lb.active', draining: 'lb.draining', terminated: 'lb.terminated' } as const;

/**
 * The events one change of a load-balancer record means (pure): a new pod (`lb.active`), a status
 * change (`lb.<status>`), new upstreams of an active one (`lb.targets`). Heartbeats: none.
 */
export function loadBalancerEvents(change: RecordChange<LoadBalancerItem>): Draft[] {
  const { old, new: current } = change;
  if (!current) return [];
  const base = { loadBalancer: toLoadBalancer(current), previousStatus: old?.status ?? null, sequence: current.version };
  if (!old || old.podUid !== current.podUid || old.status !== current.status) {
    return [{ type: LB_STATUS_EVENT[current.status], data: base }];
  }
  if (current.status === 'active' && old.targets.join('\n') !== current.targets.join('\n')) {
    return [{ type: 'lb.targets', data: { ...base, previousTargets: old.targets } }];
  }
  return [];
}

/**
 * The CloudEvents envelope of a draft. The id names the record, its version and the type, so every
 * redelivery of the same stream record (and a replay of the stream) yields the same id.
 */
export function toCloudEvent(kind: 'gs' | 'lb', item: { endpoint: string; version: number; updatedAt: number }, draft: Draft, source: string): NotificationEvent {
  return {
    specversion: '1.0',
    id: `${kind}:${item.endpoint}:${item.version}:${draft.type}`,
    source,
    type: draft.type,
    subject: item.endpoint,
    time: iso(item.updatedAt),
    datacontenttype: 'application/json',
    dataschema: dataSchemaUri(draft.type),
    data: draft.data,
  } as NotificationEvent;
}
