import type { GameServerItem } from '../../schemas/items';
import type { FleetServer } from '../../schemas/http';
import type { Deps } from '../deps';
import { cachedReadings } from '../cached-readings';
import { claimReference, maySee, type Actor } from '../ownership';
import { readWholePool } from './availability-query';
import { drainReason, effectiveStatus, isStale } from './view';

type RepoDeps = Pick<Deps, 'ddb' | 'config'>;

/** What the fleet view reads of each record: nothing of the index keys, labels or pod identity. */
const FLEET_ATTRIBUTES = [
  'endpoint',
  'publicEndpoint',
  'region',
  'group',
  'node',
  'status',
  'lifecycle',
  'players',
  'capacity',
  'lastHeartbeatAt',
  'freshUntil',
  'claimId',
  'owner',
  'claimedAt',
  'leaseExpiresAt',
  'holdExpiresAt',
  'nodeDraining',
  'nodeDrainReason',
  'version',
] as const;

export type FleetRecord = Pick<GameServerItem, (typeof FLEET_ATTRIBUTES)[number]>;

export interface FleetFilter {
  region?: string;
  group?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * One record as the dashboard shows it to `viewer` (pure). Statuses are the ones clients see (a
 * run-out lease or hold is available); the claim, while one holds the server, names its owner for
 * everyone and its id only to who may see it, with `ref`, a digest of the id, to tell a pair's
 * servers apart from another claim's.
 */
export function toFleetServer(record: FleetRecord, now: number, viewer: Actor): FleetServer {
  const status = effectiveStatus(record as GameServerItem, now);
  const held = (status === 'claimed' || status === 'busy') && record.claimId !== undefined;
  const expiresAt = status === 'claimed' ? record.leaseExpiresAt : record.holdExpiresAt;
  return {
    endpoint: record.endpoint,
    ...(record.publicEndpoint !== undefined ? { publicEndpoint: record.publicEndpoint } : {}),
    region: record.region,
    ...(record.group !== undefined ? { group: record.group } : {}),
    node: record.node,
    status,
    ...(isStale(record, status, now) ? { stale: true as const } : {}),
    ...(record.lifecycle !== undefined ? { lifecycle: record.lifecycle } : {}),
    ...(status === 'draining' ? { drain: drainReason(record) } : {}),
    ...(record.nodeDraining ? { nodeDrained: true as const } : {}),
    ...(record.players !== undefined ? { players: record.players } : {}),
    ...(record.capacity !== undefined ? { capacity: record.capacity } : {}),
    lastHeartbeatAt: iso(record.lastHeartbeatAt),
    ...(held && expiresAt !== undefined
      ? {
          claim: {
            ref: claimReference(record.claimId!),
            ...(maySee(viewer, record.owner) ? { id: record.claimId! } : {}),
            ...(record.owner !== undefined ? { owner: record.owner } : {}),
            since: iso(record.claimedAt ?? record.lastHeartbeatAt),
            confirmed: status === 'busy',
            expiresAt: iso(expiresAt),
          },
        }
      : {}),
  };
}

/**
 * Every record of the fleet (or of one region, or region and group), projected to what the fleet
 * view shows, in endpoint order (readWholePool: its cost grows with the fleet, so callers share
 * one reading for a few seconds, createFleetReader).
 */
export async function readFleetRecords(deps: RepoDeps, filter: FleetFilter): Promise<FleetRecord[]> {
  const records = await readWholePool<FleetRecord>(deps, filter, FLEET_ATTRIBUTES);
  return newestPerEndpoint(records).sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
}

/**
 * A record written while its index is paged through moves within it (its sort key, availableAt,
 * changes with its status) and may be read twice: keep its newest version. (One that moves to a
 * page already read is missed by this reading and shows in the next.)
 */
export function newestPerEndpoint(records: FleetRecord[]): FleetRecord[] {
  const newest = new Map<string, FleetRecord>();
  for (const record of records) {
    const seen = newest.get(record.endpoint);
    if (!seen || record.version > seen.version) newest.set(record.endpoint, record);
  }
  return [...newest.values()];
}

/**
 * The fleet's records per filter, read at most once per `maxAgeMs` by this instance however many
 * dashboards ask (cachedReadings).
 */
export function createFleetReader(deps: RepoDeps & Pick<Deps, 'clock'>, options: { maxAgeMs?: number } = {}) {
  const readings = cachedReadings<FleetRecord[]>(deps.clock, options.maxAgeMs ?? 2_000);
  return async (filter: FleetFilter): Promise<{ at: number; records: FleetRecord[] }> => {
    const key = `${filter.region ?? ''}\u0000${filter.group ?? ''}`;
    const { at, value } = await readings(key, () => readFleetRecords(deps, filter));
    return { at, records: value };
  };
}
