import type { GameServerItem } from '../../schemas/items';

export interface ServerFilter {
  region?: string;
  group?: string;
  labels?: Record<string, string>;
}

/** Keeps the first server of each node, in order, up to `limit`. */
export function onePerNode(items: GameServerItem[], limit: number): GameServerItem[] {
  const seen = new Set<string>();
  const result: GameServerItem[] = [];
  for (const item of items) {
    if (result.length >= limit) break;
    if (seen.has(item.node)) continue;
    seen.add(item.node);
    result.push(item);
  }
  return result;
}

/** By availableAt (pool positions, then run-out leases and holds); ties by endpoint so that listings are stable. */
export function byAvailability(a: GameServerItem, b: GameServerItem): number {
  return a.availableAt - b.availableAt || (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0);
}

/**
 * Picks `count` candidates at random (so that concurrent claimers spread over the pool instead of
 * all racing for the first one), on pairwise distinct nodes when asked. Returns undefined when
 * the pool cannot satisfy the request. Pure: randomness is injected.
 */
export function pickCandidates(
  pool: readonly GameServerItem[],
  count: number,
  distinctNodes: boolean,
  random: () => number = Math.random,
): GameServerItem[] | undefined {
  const remaining = [...pool];
  const picked: GameServerItem[] = [];
  const nodes = new Set<string>();
  while (picked.length < count) {
    const eligible = distinctNodes ? remaining.filter((item) => !nodes.has(item.node)) : remaining;
    if (eligible.length === 0) return undefined;
    const choice = eligible[Math.floor(random() * eligible.length)]!;
    picked.push(choice);
    nodes.add(choice.node);
    remaining.splice(remaining.indexOf(choice), 1);
  }
  return picked;
}
