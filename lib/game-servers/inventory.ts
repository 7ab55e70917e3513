import type { GameServerItem } from '../../schemas/items';
import { cachedReadings } from '../cached-readings';
import type { Deps } from '../deps';
import { readInventoryFacts } from './availability-query';
import { effectiveStatus, isStale } from './view';

type Facts = Array<Pick<GameServerItem, 'status' | 'region' | 'freshUntil' | 'leaseExpiresAt' | 'holdExpiresAt'>>;

export interface Inventory {
  total: number;
  byStatus: Record<string, number>;
  byRegion: Record<string, Record<string, number>>;
  /** Servers that stopped heartbeating (counted under their status too). */
  stale: number;
  generatedAt: string;
}

/** Counts by status and by region (pure). Expired leases and holds count as available. */
export function summarizeInventory(facts: Facts, now: number): Inventory {
  const byStatus: Record<string, number> = { available: 0, claimed: 0, busy: 0, draining: 0, terminated: 0 };
  const byRegion: Record<string, Record<string, number>> = {};
  let stale = 0;
  for (const fact of facts) {
    const status = effectiveStatus(fact as GameServerItem, now);
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    const region = (byRegion[fact.region] ??= {});
    region[status] = (region[status] ?? 0) + 1;
    if (isStale(fact, status, now)) stale++;
  }
  return { total: facts.length, byStatus, byRegion, stale, generatedAt: new Date(now).toISOString() };
}

/**
 * The inventory report, at most `maxAgeMs` old. Counting every server needs every record, so
 * this read grows with the table, like the dashboard's fleet view (Query over the pool-wide
 * index, never a Scan); it is cached per function instance and meant for dashboards and alarms, never for
 * the claim path. `onFresh` sees each newly read report (the handler publishes metrics from it).
 */
export function createInventoryReader(deps: Deps, options: { maxAgeMs?: number; onFresh?: (inventory: Inventory) => void } = {}) {
  const readings = cachedReadings<Inventory>(deps.clock, options.maxAgeMs ?? 10_000);
  const read = async () => {
    const now = deps.clock();
    const inventory = summarizeInventory(await readInventoryFacts(deps), now);
    options.onFresh?.(inventory);
    return inventory;
  };
  return async (): Promise<Inventory> => (await readings('', read)).value;
}
