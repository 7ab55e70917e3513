import { shardOf } from '../../lib/game-servers/availability-keys';

/** Endpoints as a fleet on hostNetwork nodes has them: node IP, one port per server on the node. */
export function fleetEndpoints(count: number): string[] {
  const perNode = 10;
  return Array.from({ length: count }, (_, i) => {
    const node = Math.floor(i / perNode);
    return `10.${20 + ((node >> 16) & 255)}.${(node >> 8) & 255}.${node & 255}:${7000 + (i % perNode)}`;
  });
}

export interface ShardSpread {
  shards: number;
  min: number;
  max: number;
  mean: number;
  /** max / mean */
  skew: number;
}

/** How many of the endpoints the real shardOf() puts into each of `shards` shards. */
export function shardSpread(endpoints: string[], shards: number): ShardSpread {
  const sizes = new Array<number>(shards).fill(0);
  for (const endpoint of endpoints) sizes[shardOf(endpoint, shards)]!++;
  const mean = endpoints.length / shards;
  const max = Math.max(...sizes);
  return { shards, min: Math.min(...sizes), max, mean, skew: Math.round((max / mean) * 1000) / 1000 };
}
