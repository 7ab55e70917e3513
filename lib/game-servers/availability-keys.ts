/**
 * Keys of the availability indexes. Every pool (all servers, a region, a region+group) is split
 * into `shards` partitions by a stable hash of the endpoint, so that no single index partition
 * takes all of a pool's writes (see docs on scaling). Readers query every shard of a pool.
 */
export function shardOf(endpoint: string, shards: number): number {
  // FNV-1a, 32 bit: stable across processes and runtimes.
  let hash = 0x811c9dc5;
  for (let i = 0; i < endpoint.length; i++) {
    hash ^= endpoint.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

export interface PoolFilter {
  region?: string;
  group?: string;
}

export type AvailabilityIndexKind = 'all' | 'region' | 'group';

/** Picks the narrowest index that serves the filter. A group is only meaningful inside a region. */
export function indexForPool(pool: PoolFilter): AvailabilityIndexKind {
  if (pool.region && pool.group) return 'group';
  if (pool.region) return 'region';
  return 'all';
}

export function poolPartitionKey(kind: AvailabilityIndexKind, pool: PoolFilter, shard: number): string {
  switch (kind) {
    case 'all':
      return `all#${shard}`;
    case 'region':
      return `${pool.region}#${shard}`;
    case 'group':
      return `${pool.region}#${pool.group}#${shard}`;
  }
}

export function availabilityKeys(
  server: { endpoint: string; region: string; group?: string },
  shards: number,
): { availAll: string; availRegion: string; availGroup?: string } {
  const shard = shardOf(server.endpoint, shards);
  return {
    availAll: poolPartitionKey('all', server, shard),
    availRegion: poolPartitionKey('region', server, shard),
    ...(server.group ? { availGroup: poolPartitionKey('group', server, shard) } : {}),
  };
}
