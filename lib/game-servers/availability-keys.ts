/** FNV-1a, 32 bit: stable across processes and runtimes. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * Keys of the availability indexes. Every pool (all servers, a region, a region+group) is split
 * into `shards` partitions by a stable hash of the endpoint, so that no single index partition
 * takes all of a pool's writes (see docs on scaling). Readers query every shard of a pool.
 */
export function shardOf(endpoint: string, shards: number): number {
  return fnv1a(endpoint) % shards;
}

/**
 * Where an available server sits in its shard of the availability index: its `availableAt` while
 * it is available, a number in [0, 1), below every lease or hold end (timestamps), so it is
 * claimable at once. A hash of the endpoint and of what put the server into the pool (`entry`:
 * its pod, the claim that released it), so a server takes a new, evenly spread position each time
 * it comes back, and the same one whenever the same entry is written again (a redelivered event,
 * a retried release). Claimers start their listings at random positions (candidates.ts): function
 * instances that share a shard then hold different windows of it instead of all racing for its
 * first page.
 */
export function poolPosition(endpoint: string, entry: string): number {
  // Mixed once more (murmur3's finalizer): FNV-1a alone leaves similar inputs close together.
  let hash = fnv1a(`${endpoint}#${entry}`);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return ((hash ^ (hash >>> 16)) >>> 0) / 2 ** 32;
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
