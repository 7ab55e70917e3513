import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimGameServers } from '../../lib/claims/claim';
import { releaseClaim } from '../../lib/claims/settle';
import { poolPosition } from '../../lib/game-servers/availability-keys';
import { CandidateCache } from '../../lib/game-servers/candidates';
import { listAvailableGameServers } from '../../lib/game-servers/list';
import { getGameServer, getGameServers } from '../../lib/game-servers/records';
import type { GameServerItem } from '../../schemas/items';
import { registerFleet } from '../fixtures/servers';
import { createTestStack, manualClock, type TestStack } from '../setup/stack';

const OWNER = { principal: 'key:matchmaker', admin: false };
const clock = manualClock();
let t: TestStack;

// The deployed default: one shard, so every function instance lists the same index partition.
beforeAll(async () => {
  t = await createTestStack({ clock, env: { AVAILABILITY_SHARDS: '1' } });
});
afterAll(async () => t?.destroy());

/**
 * A cache whose every random draw is `value`: its windows (all `listSize` long) start at `value`,
 * its pick is the item at `value` of the window.
 */
const cacheStartingAt = (value: number, listSize = 100) => new CandidateCache(t.deps, { ttlMs: 60_000, listSize, minWindowSize: listSize, random: () => value });

/** Counts the Query commands `run` sends through the stack's DynamoDB client. */
async function queriesDuring<T>(run: () => Promise<T>): Promise<{ result: T; queries: number }> {
  let queries = 0;
  const name = `count-queries-${Math.random()}`;
  const stack = t.deps.ddb.middlewareStack as unknown as {
    add(middleware: unknown, options: { step: string; name: string }): void;
    remove(name: string): boolean;
  };
  stack.add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      if (context.commandName === 'QueryCommand') queries++;
      return next(args);
    },
    { step: 'initialize', name },
  );
  try {
    return { result: await run(), queries };
  } finally {
    stack.remove(name);
  }
}

async function positionsOf(endpoints: string[]): Promise<GameServerItem[]> {
  const records = await getGameServers(t.deps, endpoints);
  return endpoints.map((endpoint) => records.get(endpoint)!).sort((a, b) => a.availableAt - b.availableAt);
}

describe('claim candidates from random windows of the availability index', () => {
  it('registers every server at its pool position, and the listing route lists a shard in position order', async () => {
    const endpoints = await registerFleet(t.deps, { count: 40, group: 'positions', subnet: 1 });
    const records = await getGameServers(t.deps, endpoints);
    for (const endpoint of endpoints) expect(records.get(endpoint)!.availableAt).toBe(poolPosition(endpoint, `pod-${endpoint}`));
    const listed = await listAvailableGameServers(t.deps, { region: 'us-west', group: 'positions', limit: 40, distinctNodes: false });
    expect(listed.map((s) => s.endpoint)).toEqual((await positionsOf(endpoints)).map((s) => s.endpoint));
  });

  it('starts each instance\'s window at its own random position, so instances hold different servers', async () => {
    const endpoints = await registerFleet(t.deps, { count: 150, group: 'windows', subnet: 2 });
    const ordered = await positionsOf(endpoints);
    const windowFrom = (start: number) => ordered.filter((s) => s.availableAt >= start).slice(0, 50);
    const filter = { region: 'us-west', group: 'windows' };

    const early = await cacheStartingAt(0.1, 50).take(filter, 1, false);
    const late = await cacheStartingAt(0.6, 50).take(filter, 1, false);
    // Each picks the item at its draw of its own window of 50 from its start.
    expect(early!.map((s) => s.endpoint)).toEqual([windowFrom(0.1)[5]!.endpoint]);
    expect(late!.map((s) => s.endpoint)).toEqual([windowFrom(0.6)[30]!.endpoint]);
    expect(new Set(windowFrom(0.1).map((s) => s.endpoint)).has(late![0]!.endpoint)).toBe(false);
  });

  it('wraps a window that reaches the end of the shard around to its first positions', async () => {
    const endpoints = await registerFleet(t.deps, { count: 150, group: 'wrap', subnet: 3 });
    const ordered = await positionsOf(endpoints);
    const tail = ordered.filter((s) => s.availableAt >= 0.98);
    expect(tail.length).toBeGreaterThan(0);
    expect(tail.length).toBeLessThan(50);
    const window = [...tail, ...ordered.slice(0, 50 - tail.length)];

    const { result, queries } = await queriesDuring(() => cacheStartingAt(0.98, 50).take({ region: 'us-west', group: 'wrap' }, 1, false));
    expect(result!.map((s) => s.endpoint)).toEqual([window[49]!.endpoint]);
    expect(queries).toBe(2);
  });

  it('answers "none available" from one window that saw the whole one-shard pool, and finds a server that came back', async () => {
    const endpoints = await registerFleet(t.deps, { count: 3, group: 'whole', subnet: 4 });
    const filter = { region: 'us-west', group: 'whole' };
    const cache = cacheStartingAt(0.5);
    for (let i = 0; i < 3; i++) {
      const outcome = await claimGameServers(t.deps, cache, { claimId: `whole-${i}`, count: 1, ...filter, distinctNodes: false, leaseSeconds: 60, holdSeconds: 60, owner: OWNER.principal });
      expect(outcome.kind).toBe('claimed');
    }
    // The cached window is used up: one fresh window (its range after 0.5 and the wrap) sees the
    // whole shard, and no walk over every shard follows.
    const { result, queries } = await queriesDuring(() => cache.take(filter, 1, false));
    expect(result).toBeUndefined();
    expect(queries).toBe(2);

    // Another instance finds the one server that was released (this one holds back what it
    // handed out for a while: its own claimers may still be writing them).
    await releaseClaim(t.deps, 'whole-1', OWNER);
    const released = (await getClaimedEndpoint('whole-1', endpoints))!;
    const again = await cacheStartingAt(0.5).take(filter, 1, false);
    expect(again!.map((s) => s.endpoint)).toEqual([released]);
  });

  it('serves a claim from a listing past its time to live while the next window is listed beside it, and waits for a fresh one when it is far too old', async () => {
    const endpoints = await registerFleet(t.deps, { count: 150, group: 'stale', subnet: 6 });
    const ordered = await positionsOf(endpoints);
    const windowFrom = (start: number) => ordered.filter((s) => s.availableAt >= start).slice(0, 50);
    const filter = { region: 'us-west', group: 'stale' };
    // Draws in turn: a listing draws its shard and its start, a take its pick.
    const draws = [0, 0.1, 0, /* past ttl */ 0, 0, 0.6, /* joins the listing */ 0, /* far too old */ 0, 0.3, 0];
    const cache = new CandidateCache(t.deps, { ttlMs: 1000, listSize: 50, minWindowSize: 50, random: () => draws.shift()! });
    const take = async () => (await cache.take(filter, 1, false))![0]!.endpoint;

    expect(await take()).toBe(windowFrom(0.1)[0]!.endpoint);
    clock.advance(1500);
    const { result, queries } = await queriesDuring(async () => [await take(), await take()]);
    // The claim past the time to live got the old window's next server; the one after it waited
    // for the listing already under way (from 0.6) instead of sending another.
    expect(result).toEqual([windowFrom(0.1)[1]!.endpoint, windowFrom(0.6)[0]!.endpoint]);
    expect(queries).toBe(1);
    clock.advance(6000);
    expect(await take()).toBe(windowFrom(0.3)[0]!.endpoint);
    expect(draws).toEqual([]);
  });

  it('sizes a window by what the instance took from its last one: 25 on a cold start, then twice what it took', async () => {
    const endpoints = await registerFleet(t.deps, { count: 120, group: 'sizes', subnet: 7 });
    const ordered = (await positionsOf(endpoints)).map((s) => s.endpoint);
    // Every draw 0: windows start at the first position, the pick is the window's first server.
    const cache = new CandidateCache(t.deps, { ttlMs: 60_000, random: () => 0 });
    const takeMany = (n: number) => queriesDuring(async () => {
      const taken: string[] = [];
      for (let i = 0; i < n; i++) taken.push((await cache.take({ region: 'us-west', group: 'sizes' }, 1, false))![0]!.endpoint);
      return taken;
    });
    // A cold start lists 25; the instance takes all 25, so its next window is 50 (25 of them
    // already handed out), which serves the next 25 claims with one Query.
    expect(await takeMany(25)).toEqual({ result: ordered.slice(0, 25), queries: 1 });
    expect(await takeMany(25)).toEqual({ result: ordered.slice(25, 50), queries: 1 });
  });

  it('returns a released server to the pool at a new position drawn from the claim that held it', async () => {
    const [endpoint] = await registerFleet(t.deps, { count: 1, group: 'release', subnet: 5 });
    const registered = (await getGameServer(t.deps, endpoint!))!.availableAt;
    const outcome = await claimGameServers(t.deps, cacheStartingAt(0), {
      claimId: 'release-1',
      count: 1,
      region: 'us-west',
      group: 'release',
      distinctNodes: false,
      leaseSeconds: 60,
      holdSeconds: 60,
      owner: OWNER.principal,
    });
    expect(outcome.kind).toBe('claimed');
    await releaseClaim(t.deps, 'release-1', OWNER);
    const after = (await getGameServer(t.deps, endpoint!))!;
    expect(after).toMatchObject({ status: 'available', availableAt: poolPosition(endpoint!, 'release-1') });
    expect(after.availableAt).not.toBe(registered);
  });
});

async function getClaimedEndpoint(claimId: string, endpoints: string[]): Promise<string | undefined> {
  const records = await getGameServers(t.deps, endpoints);
  return endpoints.find((endpoint) => records.get(endpoint)!.availableAt === poolPosition(endpoint, claimId));
}
