// The event-driven simulation of the claim path: Lambda instances with their candidate caches,
// the availability index split into shards by the real shardOf() hash, GSI propagation lag and
// lost races. Three candidate strategies: `current` (every shard, the oldest 100), `proposed` (one
// random shard's oldest page) and `positions` (one random shard's window from a random pool
// position, lib/game-servers/candidates.ts).
import { shardOf } from '../../lib/game-servers/availability-keys';
import { Rng } from '../../testkit/rng';
import { CLAIM_WRU, LOST_RACE_WRU, rruForQuery } from './capacity';
import { Heap } from './heap';
import { CACHE_TTL_MS, CLAIM_MAX_ATTEMPTS, CURRENT_PAGE, LIST_SIZE, POSITIONS_PAGE, PROPOSED_PAGE } from './model';
import type { SimParams } from './params';
import { PositionIndex } from './positions';

interface Server {
  rank: number;
  shard: number;
  available: boolean;
  /** When the claim write that took it completed (the index drops it the GSI lag later). */
  claimedAt: number;
  /**
   * Current index entry (a release adds a new entry: at the end of its shard's order, or with
   * `positions` at a new random pool position).
   */
  entry: number;
}
interface Entry {
  server: number;
  /** The sort key: when it became available (0 at the start), or with `positions` its pool position in [0, 1). */
  availableAt: number;
  /** When the index shows it (write time + lag). */
  visibleFrom: number;
  id: number;
}
interface Cache {
  items: number[];
  fetchedAt: number;
}
interface Instance {
  cache: Cache;
  busy: boolean;
}

export type Strategy = 'current' | 'proposed' | 'positions';
export const STRATEGIES: readonly Strategy[] = ['current', 'proposed', 'positions'];

export interface SimResult {
  strategy: Strategy;
  shards: number;
  claimsPerSec: number;
  failedPerSec: number;
  instances: number;
  lostRacesPerClaim: number;
  queriesPerClaim: number;
  writesPerClaim: number;
  requestsPerClaim: number;
  rruPerClaim: number;
  /** Write request units per claim: 8 per successful attempt, 3 per lost race (failed condition, record put, withdrawal). */
  wruPerClaim: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Reads on the hottest shard partition of the availability index, RCU/s. */
  hottestShardRcu: number;
}


type Event =
  | { kind: 'arrival' }
  | { kind: 'listed'; instance: number; request: Request; shards: number[]; window?: Window }
  | { kind: 'written'; instance: number; request: Request; server: number }
  | { kind: 'retry'; instance: number; request: Request }
  | { kind: 'release'; server: number };
interface Request {
  arrivedAt: number;
  attempts: number;
}
/** `positions`: the window a refresh lists, from a pool position; `after` once its first Query is in and short. */
interface Window {
  from: number;
  after?: number[];
}


/**
 * Simulates `strategy` over a fleet whose availability index has `shards` shards: Poisson claim
 * arrivals, one request per Lambda instance at a time, candidate caches, GSI lag and lost races.
 * Deterministic for a seed.
 */
export function simulate(p: SimParams, strategy: Strategy, shards: number, endpoints: string[], seed: number): SimResult {
  const rng = new Rng(seed);
  const random = () => rng.float();
  const servers: Server[] = endpoints.map((endpoint) => ({ rank: 0, shard: shardOf(endpoint, shards), available: true, claimedAt: -Infinity, entry: -1 }));
  // Endpoint order (the index's tie-break among equal availableAt): a random permutation stands in.
  const order = servers.map((_, i) => i).sort(() => random() - 0.5);
  order.forEach((serverIndex, rank) => (servers[serverIndex]!.rank = rank));
  const queues: Entry[][] = Array.from({ length: shards }, () => []);
  const heads = new Array<number>(shards).fill(0);
  // `positions`: each shard's entries in pool-position order instead of arrival order.
  const shardSizes = new Array<number>(shards).fill(0);
  for (const server of servers) shardSizes[server.shard]!++;
  const positioned = strategy === 'positions' ? shardSizes.map((size) => new PositionIndex<Entry>(size)) : [];
  const addEntry = (shard: number, entry: Entry) => (strategy === 'positions' ? positioned[shard]!.insert(entry) : queues[shard]!.push(entry));
  let entryIds = 0;
  const events = new Heap<Event>();

  // Steady state from the start: half the fleet in sessions that end uniformly within a session length.
  const byRank = [...servers.keys()].sort((a, b) => servers[a]!.rank - servers[b]!.rank);
  for (const index of byRank) {
    const server = servers[index]!;
    if (random() < 0.5) {
      server.available = false;
      server.claimedAt = -p.lagMs - 1;
      events.push(random() * p.sessionMs, { kind: 'release', server: index });
    } else {
      const entry: Entry = { server: index, availableAt: strategy === 'positions' ? random() : 0, visibleFrom: -Infinity, id: entryIds++ };
      server.entry = entry.id;
      addEntry(server.shard, entry);
    }
  }

  const instances: Instance[] = [];
  const idle: number[] = [];
  const latencies: number[] = [];
  let claims = 0;
  let failed = 0;
  let lostRaces = 0;
  let queries = 0;
  let writes = 0;
  let rru = 0;
  const shardRru = new Array<number>(shards).fill(0);
  let instanceTime = 0;
  let lastTime = 0;
  let busyInstances = 0;
  const measuring = (t: number) => t >= p.warmupMs;

  /** What a query of one shard at time t returns: the first `limit` entries the index shows. */
  const listShard = (shard: number, t: number, limit: number): Entry[] => {
    const queue = queues[shard]!;
    const snapshot = t - p.lagMs;
    const found: Entry[] = [];
    for (let i = heads[shard]!; i < queue.length && found.length < limit; i++) {
      const entry = queue[i]!;
      const server = servers[entry.server]!;
      const goneForGood = server.entry !== entry.id || (!server.available && server.claimedAt <= snapshot);
      if (goneForGood) {
        if (i === heads[shard]) heads[shard] = i + 1;
        continue;
      }
      if (entry.visibleFrom > snapshot) break; // later entries are newer still
      found.push(entry);
    }
    return found;
  };
  /**
   * `positions`: what a Query of one shard's pool positions in [from, to) at time t returns, the
   * first `limit` entries the index shows in position order. (A run-out lease would follow the
   * positions in the first range; here every session ends in a release, so there are none.)
   */
  const listPositions = (shard: number, t: number, from: number, to: number, limit: number): Entry[] => {
    const snapshot = t - p.lagMs;
    return positioned[shard]!.range(from, to, limit, (entry) => {
      const server = servers[entry.server]!;
      if (server.entry !== entry.id || (!server.available && server.claimedAt <= snapshot)) return 'gone';
      return entry.visibleFrom > snapshot ? 'hidden' : 'listed';
    });
  };
  /** Items a Query with Limit `page` reads from a shard (the available ones, up to the page). */
  const availableInShard = new Array<number>(shards).fill(0);
  for (const server of servers) if (server.available) availableInShard[server.shard]!++;
  /** Bills a Query of `shard` that read `items` index entries (0.5 RRU at the least). */
  const readCost = (shard: number, items: number, t: number) => {
    if (!measuring(t)) return;
    queries++;
    const cost = Math.max(0.5, rruForQuery(items));
    rru += cost;
    shardRru[shard]! += cost;
  };

  const startAttempt = (t: number, instanceIndex: number, request: Request) => {
    const instance = instances[instanceIndex]!;
    if (request.attempts >= CLAIM_MAX_ATTEMPTS) {
      if (measuring(t)) failed++;
      finish(t, instanceIndex);
      return;
    }
    request.attempts++;
    if (instance.cache.items.length === 0 || t - instance.cache.fetchedAt > CACHE_TTL_MS) {
      const listShards = strategy === 'current' ? [...Array(shards).keys()] : [Math.floor(random() * shards)];
      const window = strategy === 'positions' ? { window: { from: random() } } : {};
      events.push(t + p.queryMs, { kind: 'listed', instance: instanceIndex, request, shards: listShards, ...window });
      return;
    }
    write(t, instanceIndex, request);
  };

  const write = (t: number, instanceIndex: number, request: Request) => {
    const cache = instances[instanceIndex]!.cache;
    if (cache.items.length === 0) {
      // Nothing listed: the claim answers none-available (the pool is never empty here).
      if (measuring(t)) failed++;
      finish(t, instanceIndex);
      return;
    }
    const pick = Math.floor(random() * cache.items.length);
    const server = cache.items[pick]!;
    cache.items.splice(pick, 1);
    // The claim record (PutItem) and the server (conditional UpdateItem), side by side.
    if (measuring(t)) writes += 2;
    events.push(t + p.writeMs, { kind: 'written', instance: instanceIndex, request, server });
  };

  const finish = (t: number, instanceIndex: number) => {
    instances[instanceIndex]!.busy = false;
    busyInstances--;
    idle.push(instanceIndex);
    void t;
  };

  events.push(0, { kind: 'arrival' });
  while (events.size > 0) {
    const { at: t, value: event } = events.pop();
    if (t > p.simMs) break;
    if (measuring(t)) instanceTime += busyInstances * (t - Math.max(lastTime, p.warmupMs));
    lastTime = t;
    switch (event.kind) {
      case 'arrival': {
        events.push(t - Math.log(1 - random()) * (1000 / p.rate), { kind: 'arrival' });
        let instanceIndex = idle.pop();
        if (instanceIndex === undefined) {
          instances.push({ cache: { items: [], fetchedAt: -Infinity }, busy: false });
          instanceIndex = instances.length - 1;
        }
        instances[instanceIndex]!.busy = true;
        busyInstances++;
        startAttempt(t, instanceIndex, { arrivedAt: t, attempts: 0 });
        break;
      }
      case 'listed': {
        // The query ran against the index as of its start.
        const start = t - p.queryMs;
        let items: number[];
        if (strategy === 'current') {
          // Each shard's entries are in index order (availableAt, then endpoint), so the 100
          // oldest-available of the merge are among the first 100 of every shard.
          const heads = event.shards.map((shard) => {
            readCost(shard, Math.min(CURRENT_PAGE, availableInShard[shard]!), t);
            return listShard(shard, start, LIST_SIZE);
          });
          const at = new Array<number>(heads.length).fill(0);
          items = [];
          while (items.length < LIST_SIZE) {
            let best = -1;
            for (let k = 0; k < heads.length; k++) {
              const candidate = heads[k]![at[k]!];
              if (!candidate) continue;
              const current = best >= 0 ? heads[best]![at[best]!]! : undefined;
              if (!current || candidate.availableAt < current.availableAt || (candidate.availableAt === current.availableAt && servers[candidate.server]!.rank < servers[current.server]!.rank)) best = k;
            }
            if (best < 0) break;
            items.push(heads[best]![at[best]!]!.server);
            at[best]!++;
          }
        } else if (strategy === 'proposed') {
          const shard = event.shards[0]!;
          readCost(shard, Math.min(PROPOSED_PAGE, availableInShard[shard]!), t);
          items = listShard(shard, start, PROPOSED_PAGE).map((entry) => entry.server);
        } else {
          // `availableAt BETWEEN from AND now`, Limit a page; when that comes back short, a second
          // Query (`availableAt < from`, Limit the rest) wraps around to the shard's first positions.
          const shard = event.shards[0]!;
          const window = event.window!;
          if (window.after === undefined) {
            const after = listPositions(shard, start, window.from, 1, POSITIONS_PAGE).map((entry) => entry.server);
            readCost(shard, after.length, t);
            if (after.length < POSITIONS_PAGE) {
              events.push(t + p.queryMs, { ...event, window: { from: window.from, after } });
              break;
            }
            items = after;
          } else {
            const before = listPositions(shard, start, 0, window.from, POSITIONS_PAGE - window.after.length).map((entry) => entry.server);
            readCost(shard, before.length, t);
            items = [...new Set([...window.after, ...before])];
          }
        }
        instances[event.instance]!.cache = { items, fetchedAt: t };
        write(t, event.instance, event.request);
        break;
      }
      case 'written': {
        const server = servers[event.server]!;
        if (server.available) {
          server.available = false;
          availableInShard[server.shard]!--;
          server.claimedAt = t;
          events.push(t + p.sessionMs * (0.8 + 0.4 * random()), { kind: 'release', server: event.server });
          if (measuring(t)) {
            claims++;
            latencies.push(t - event.request.arrivedAt);
          }
          finish(t, event.instance);
        } else {
          // Lost race: the attempt is undone (its claim record withdrawn, one more write) before
          // the next attempt; the listing is known stale.
          if (measuring(t)) {
            lostRaces++;
            writes++;
          }
          instances[event.instance]!.cache.fetchedAt = -Infinity;
          events.push(t + p.writeMs, { kind: 'retry', instance: event.instance, request: event.request });
        }
        break;
      }
      case 'retry':
        startAttempt(t, event.instance, event.request);
        break;
      case 'release': {
        const server = servers[event.server]!;
        server.available = true;
        availableInShard[server.shard]!++;
        // Back in the pool: at the end of its shard's order, or (`positions`) at a new random position.
        const entry: Entry = { server: event.server, availableAt: strategy === 'positions' ? random() : t, visibleFrom: t + p.lagMs, id: entryIds++ };
        server.entry = entry.id;
        addEntry(server.shard, entry);
        break;
      }
    }
  }

  const measuredSec = (p.simMs - p.warmupMs) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? Number.NaN;
  const r2 = (v: number) => Math.round(v * 100) / 100;
  return {
    strategy,
    shards,
    claimsPerSec: Math.round(claims / measuredSec),
    failedPerSec: Math.round(failed / measuredSec),
    instances: Math.round(instanceTime / (p.simMs - p.warmupMs)),
    lostRacesPerClaim: r2(lostRaces / claims),
    queriesPerClaim: r2(queries / claims),
    writesPerClaim: r2(writes / claims),
    requestsPerClaim: r2((queries + writes) / claims),
    rruPerClaim: r2(rru / claims),
    wruPerClaim: r2((claims * CLAIM_WRU + lostRaces * LOST_RACE_WRU) / claims),
    latencyP50Ms: r2(pct(50)),
    latencyP99Ms: r2(pct(99)),
    hottestShardRcu: Math.round(Math.max(...shardRru) / measuredSec),
  };
}

