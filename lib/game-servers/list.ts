import type { GameServerItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { queryAvailablePage } from './availability-query';
import { byAvailability, onePerNode, type ServerFilter } from './select';

export interface ListRequest extends ServerFilter {
  limit: number;
  distinctNodes: boolean;
}

/** Pages read per shard at most, so that a selective filter cannot turn a listing into a scan. */
const MAX_PAGES_PER_SHARD = 10;

/**
 * Available servers of a pool in pool-position order (a random order that changes each time a
 * server comes back; run-out leases after them): every shard of the pool's index is queried
 * in parallel, each until it has enough matches (or its page budget is spent), then merged.
 * Cost follows the result size (and the filters' selectivity), never the table size.
 */
export async function listAvailableGameServers(deps: Deps, request: ListRequest, now = deps.clock()): Promise<GameServerItem[]> {
  const pageSize = Math.min(Math.max(request.limit * 2, 25), 200);
  const shards = Array.from({ length: deps.config.availabilityShards }, (_, shard) => shard);
  const perShard = await Promise.all(
    shards.map(async (shard) => {
      const found: GameServerItem[] = [];
      const nodes = new Set<string>();
      let startKey: Record<string, unknown> | undefined;
      for (let page = 0; page < MAX_PAGES_PER_SHARD; page++) {
        const result = await queryAvailablePage(deps, {
          ...request,
          now,
          shard,
          pageSize,
          ...(startKey ? { exclusiveStartKey: startKey } : {}),
        });
        for (const item of result.items) {
          found.push(item);
          nodes.add(item.node);
        }
        startKey = result.lastEvaluatedKey;
        const enough = request.distinctNodes ? nodes.size >= request.limit : found.length >= request.limit;
        if (!startKey || enough) break;
      }
      return found;
    }),
  );
  const merged = perShard.flat().sort(byAvailability);
  return request.distinctNodes ? onePerNode(merged, request.limit) : merged.slice(0, request.limit);
}
