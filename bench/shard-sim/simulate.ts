// The event-driven simulation of the claim path: Lambda instances with their candidate caches,
// the availability index split into shards by the real shardOf() hash, GSI propagation lag and
// lost races.
import { shardOf } from '../../lib/game-servers/availability-keys';
import { Rng } from '../../testkit/rng';
import { CLAIM_WRU, LOST_RACE_WRU, rruForQuery } from './capacity';
import { Heap } from './heap';
import { CACHE_TTL_MS, CLAIM_MAX_ATTEMPTS, CURRENT_PAGE, LIST_SIZE, PROPOSED_PAGE } from './model';
import type { SimParams } from './params';

interface Server {
  rank: number;
  shard: number;
  available: boolean;
  /** When the claim write that took it completed (the index drops it the GSI lag later). */
  claimedAt: number;
  /** Current index entry (a release adds a new entry at the end of its shard's order). */
  entry: number;
}
interface Entry {
  server: number;
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

export type Strategy = 'current' | 'proposed';

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
  | { kind: 'listed'; instance: number; request: Request; shards: number[] }
  | { kind: 'written'; instance: number; request: Request; server: number }
  | { kind: 'retry'; instance: number; request: Request }
  | { kind: 'release'; server: number };
interface Request {
  arrivedAt: number;
  attempts: number;
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
      const entry: Entry = { server: index, availableAt: 0, visibleFrom: -Infinity, id: entryIds++ };
      server.entry = entry.id;
      queues[server.shard]!.push(entry);
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
  /** Items a Query with Limit `page` reads from a shard (the available ones, up to the page). */
  const availableInShard = new Array<number>(shards).fill(0);
  for (const queue of queues) for (const entry of queue) availableInShard[servers[entry.server]!.shard]!++;
  const readCost = (shard: number, page: number, t: number) => {
    if (!measuring(t)) return;
    queries++;
    const cost = rruForQuery(Math.min(page, availableInShard[shard]!));
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
      events.push(t + p.queryMs, { kind: 'listed', instance: instanceIndex, request, shards: listShards });
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
            readCost(shard, CURRENT_PAGE, t);
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
        } else {
          const shard = event.shards[0]!;
          readCost(shard, PROPOSED_PAGE, t);
          items = listShard(shard, start, PROPOSED_PAGE).map((entry) => entry.server);
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
        const entry: Entry = { server: event.server, availableAt: t, visibleFrom: t + p.lagMs, id: entryIds++ };
        server.entry = entry.id;
        queues[server.shard]!.push(entry);
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

