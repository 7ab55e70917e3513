import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { availabilityKeys, indexForPool, poolPosition, shardOf } from '../../lib/game-servers/availability-keys';
import { byAvailability, onePerNode, pickCandidates } from '../../lib/game-servers/select';
import { effectiveStatus, toGameServer } from '../../lib/game-servers/view';
import { summarizeInventory } from '../../lib/game-servers/inventory';
import { NEVER, type GameServerItem } from '../../schemas/items';
import { T0 } from '../fixtures/events';

function server(overrides: Partial<GameServerItem> = {}): GameServerItem {
  return {
    endpoint: '10.0.0.1:7777',
    region: 'us-west',
    group: 'g',
    node: 'n1',
    status: 'available',
    phase: 'active',
    source: 'v1',
    podUid: 'p',
    seq: 1,
    sentAt: T0,
    lastEvent: 'ready',
    lastHeartbeatAt: T0,
    freshUntil: T0 + 30_000,
    availableAt: 0,
    availAll: 'all#0',
    availRegion: 'us-west#0',
    version: 1,
    updatedAt: T0,
    ...overrides,
  };
}

const pool = fc
  .uniqueArray(fc.record({ id: fc.integer({ min: 1, max: 250 }), node: fc.integer({ min: 0, max: 5 }) }), { selector: (s) => s.id, maxLength: 40 })
  .map((specs) => specs.map((s) => server({ endpoint: `10.0.0.${s.id}:7777`, node: `n${s.node}` })));

describe('pickCandidates', () => {
  it('picks exactly count distinct servers from the pool, on distinct nodes when asked, or nothing when impossible', () => {
    fc.assert(
      fc.property(pool, fc.integer({ min: 1, max: 10 }), fc.boolean(), fc.double({ min: 0, max: 0.999999, noNaN: true }), (items, count, distinct, r) => {
        const picked = pickCandidates(items, count, distinct, () => r);
        const nodes = new Set(items.map((i) => i.node)).size;
        const possible = distinct ? Math.min(nodes, items.length) >= count : items.length >= count;
        if (!possible) {
          expect(picked).toBeUndefined();
          return;
        }
        expect(picked).toHaveLength(count);
        expect(new Set(picked!.map((p) => p.endpoint)).size).toBe(count);
        for (const p of picked!) expect(items).toContain(p);
        if (distinct) expect(new Set(picked!.map((p) => p.node)).size).toBe(count);
      }),
      { numRuns: 2000 },
    );
  });

  it('spreads choices over the pool rather than always taking the first', () => {
    const items = Array.from({ length: 10 }, (_, i) => server({ endpoint: `10.0.0.${i + 1}:7777`, node: `n${i}` }));
    const first = new Set(Array.from({ length: 200 }, () => pickCandidates(items, 1, false)![0]!.endpoint));
    expect(first.size).toBeGreaterThan(5);
  });
});

describe('onePerNode and byAvailability', () => {
  it('keeps the first server of each node, in order, up to the limit', () => {
    fc.assert(
      fc.property(pool, fc.integer({ min: 1, max: 10 }), (items, limit) => {
        const kept = onePerNode(items, limit);
        const nodes = kept.map((k) => k.node);
        expect(new Set(nodes).size).toBe(kept.length);
        expect(kept.length).toBe(Math.min(limit, new Set(items.map((i) => i.node)).size));
        for (const k of kept) expect(items.find((i) => i.node === k.node)).toBe(k);
      }),
    );
  });

  it('orders by availableAt (pool positions, then run-out leases), then by endpoint', () => {
    const a = server({ endpoint: '10.0.0.2:1', availableAt: 5 });
    const b = server({ endpoint: '10.0.0.1:1', availableAt: 5 });
    const c = server({ endpoint: '10.0.0.9:1', availableAt: 0 });
    expect([a, b, c].sort(byAvailability).map((s) => s.endpoint)).toEqual(['10.0.0.9:1', '10.0.0.1:1', '10.0.0.2:1']);
  });
});

describe('availability keys', () => {
  it('shards are stable and within range', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 64 }), (endpoint, shards) => {
        const shard = shardOf(endpoint, shards);
        expect(shard).toBeGreaterThanOrEqual(0);
        expect(shard).toBeLessThan(shards);
        expect(shardOf(endpoint, shards)).toBe(shard);
      }),
    );
  });

  it('hashes with 32-bit FNV-1a, so an endpoint keeps its shard across processes and releases', () => {
    // The published FNV-1a test vectors: with 2^32 shards the shard is the hash itself.
    expect(shardOf('', 2 ** 32)).toBe(0x811c9dc5);
    expect(shardOf('a', 2 ** 32)).toBe(0xe40c292c);
    expect(shardOf('foobar', 2 ** 32)).toBe(0xbf9cf968);
    expect(['10.0.0.1:7777', '10.0.0.2:7777', '10.0.0.3:7777', 'gs-1.example.com:7777'].map((e) => [shardOf(e, 8), shardOf(e, 64)])).toEqual([
      [1, 17],
      [6, 54],
      [3, 19],
      [4, 20],
    ]);
  });

  it('spreads a fleet over every shard: exact counts for 1000 endpoints in 8 shards', () => {
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 1000; i++) counts[shardOf(`10.0.${i >> 8}.${i & 255}:7777`, 8)]!++;
    expect(counts).toEqual([125, 125, 127, 123, 125, 125, 123, 127]);
  });

  it('gives an available server a pool position in [0, 1): the same for the same entry, another for another', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (endpoint, entry) => {
        const position = poolPosition(endpoint, entry);
        expect(position).toBeGreaterThanOrEqual(0);
        expect(position).toBeLessThan(1);
        expect(poolPosition(endpoint, entry)).toBe(position);
      }),
    );
    expect(poolPosition('10.0.0.1:7777', 'pod-1')).not.toBe(poolPosition('10.0.0.1:7777', 'pod-2'));
    expect(poolPosition('10.0.0.1:7777', 'claim-1')).not.toBe(poolPosition('10.0.0.2:7777', 'claim-1'));
  });

  it('spreads the positions of a fleet of similar endpoints evenly: exact counts for 10,000 in 10 bands', () => {
    // Endpoints and claim ids that differ in one character must not bunch up: a claimer's window
    // from a random position then holds its share of the pool, whatever the naming scheme.
    const bands = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) bands[Math.floor(poolPosition(`10.0.${i >> 8}.${i & 255}:7777`, `claim-${i % 7}`) * 10)]!++;
    expect(bands).toEqual([955, 1030, 995, 1028, 1023, 1036, 997, 948, 1000, 988]);
    for (const band of bands) expect(Math.abs(band - 1000)).toBeLessThan(100);
  });

  it('puts a server into its pool, region and group partitions of the same shard', () => {
    const keys = availabilityKeys({ endpoint: '10.0.0.1:7777', region: 'us-west', group: 'ranked' }, 4);
    const shard = keys.availAll.split('#')[1];
    expect(keys).toEqual({ availAll: `all#${shard}`, availRegion: `us-west#${shard}`, availGroup: `us-west#ranked#${shard}` });
    expect(availabilityKeys({ endpoint: '10.0.0.1:7777', region: 'us-west' }, 4).availGroup).toBeUndefined();
  });

  it('uses the narrowest index the filter allows', () => {
    expect(indexForPool({})).toBe('all');
    expect(indexForPool({ region: 'r' })).toBe('region');
    expect(indexForPool({ region: 'r', group: 'g' })).toBe('group');
    expect(indexForPool({ group: 'g' })).toBe('all');
  });
});

describe('views', () => {
  const owner = { principal: 'key:mm-a', admin: false };

  it('shows a claim whose lease ran out as available, without its claim', () => {
    const claimed = server({ status: 'claimed', claimId: 'c', owner: owner.principal, leaseExpiresAt: T0 + 1000, availableAt: T0 + 1000 });
    expect(effectiveStatus(claimed, T0 + 999)).toBe('claimed');
    expect(effectiveStatus(claimed, T0 + 1000)).toBe('available');
    expect(toGameServer(claimed, T0 + 1000, owner)).not.toHaveProperty('claimId');
    expect(toGameServer(claimed, T0, owner)).toMatchObject({ claimId: 'c', leaseExpiresAt: new Date(T0 + 1000).toISOString() });
  });

  it('shows a claim id only to its owner and to admins; everyone sees the status and the lease', () => {
    const claimed = server({ status: 'claimed', claimId: 'c', owner: owner.principal, leaseExpiresAt: T0 + 1000, availableAt: T0 + 1000 });
    const lease = new Date(T0 + 1000).toISOString();
    expect(toGameServer(claimed, T0, owner)).toMatchObject({ status: 'claimed', claimId: 'c', leaseExpiresAt: lease });
    expect(toGameServer(claimed, T0, { principal: 'key:admin', admin: true })).toMatchObject({ status: 'claimed', claimId: 'c' });
    for (const viewer of [{ principal: 'key:mm-b', admin: false }, undefined]) {
      const view = toGameServer(claimed, T0, viewer);
      expect(view).toMatchObject({ status: 'claimed', leaseExpiresAt: lease });
      expect(view).not.toHaveProperty('claimId');
    }
  });

  it('marks servers without a recent heartbeat stale, but never legacy ones', () => {
    expect(toGameServer(server(), T0 + 30_000, undefined).stale).toBe(true);
    expect(toGameServer(server(), T0 + 29_999, undefined).stale).toBeUndefined();
    expect(toGameServer(server({ freshUntil: NEVER }), T0 + 10 ** 9, undefined).stale).toBeUndefined();
  });

  it('summarizes the inventory by status and region', () => {
    const inventory = summarizeInventory(
      [
        server({ region: 'a' }),
        server({ region: 'a', status: 'claimed', leaseExpiresAt: T0 - 1 }),
        server({ region: 'a', status: 'busy' }),
        server({ region: 'b', status: 'draining', freshUntil: T0 - 1 }),
        server({ region: 'b', status: 'terminated', freshUntil: T0 - 1 }),
      ],
      T0,
    );
    expect(inventory).toEqual({
      total: 5,
      byStatus: { available: 2, claimed: 0, busy: 1, draining: 1, terminated: 1 },
      byRegion: { a: { available: 2, busy: 1 }, b: { draining: 1, terminated: 1 } },
      stale: 1,
      generatedAt: new Date(T0).toISOString(),
    });
  });
});
