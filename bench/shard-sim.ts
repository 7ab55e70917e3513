// `npm run shard-sim [-- --servers 100000 --rate 5000 --json FILE]`
// Simulates the claim path at AWS scale (no DynamoDB involved): Lambda instances with their
// candidate caches, the availability index split into shards by the real shardOf() hash, GSI
// propagation lag, lost races, and the load every index partition takes. docs/SCALING.md quotes
// its output; run it again after changing the key design or the candidate strategy.
import '../scripts/local/env-defaults';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { normalizeStatusMessage } from '../lib/events/normalize';
import { shardOf } from '../lib/game-servers/availability-keys';
import { decideGameServerWrite } from '../lib/game-servers/lifecycle';
import { v1Message } from '../test/fixtures/events';

const { values } = parseArgs({
  options: {
    servers: { type: 'string', default: '100000' },
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '4' },
    'session-seconds': { type: 'string', default: '10' },
    'heartbeat-seconds': { type: 'string', default: '10' },
    'query-ms': { type: 'string', default: '8' },
    'write-ms': { type: 'string', default: '10' },
    'lag-ms': { type: 'string', default: '50' },
    shards: { type: 'string', default: '1,4,16,32,64' },
    json: { type: 'string' },
    seed: { type: 'string', default: '7' },
  },
});

const N = Number(values.servers);
const RATE = Number(values.rate);
const SIM_MS = Number(values.seconds) * 1000;
const WARMUP_MS = 1000;
const SESSION_MS = Number(values['session-seconds']) * 1000;
const HEARTBEAT_S = Number(values['heartbeat-seconds']);
const QUERY_MS = Number(values['query-ms']);
const WRITE_MS = Number(values['write-ms']);
const LAG_MS = Number(values['lag-ms']);
const SHARDS = values.shards.split(',').map(Number);

/** As lib/game-servers/candidates.ts and lib/claims/claim.ts have them. */
const CACHE_TTL_MS = 1000;
const LIST_SIZE = 100;
const MAX_ATTEMPTS = 10;
/** lib/game-servers/list.ts: pageSize = min(max(limit * 2, 25), 200). */
const CURRENT_PAGE = Math.min(Math.max(LIST_SIZE * 2, 25), 200);
/** The proposal: one random shard per refresh, a page this big. */
const PROPOSED_PAGE = 50;

const PARTITION_WCU = 1000;
const PARTITION_RCU = 3000;

// Prices, us-east-1, on-demand (after the November 2024 reduction). Check current pricing.
const PRICE = { wru: 0.625, rru: 0.125, lambdaRequest: 0.2, lambdaGbSecondArm: 0.0000133334, httpApi: 1.0 };
const LAMBDA_GB = 0.5;

// ---------------------------------------------------------------------------------------------
// Deterministic randomness.
function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// Item size, from a record built the way the poller builds one (v1 message -> normalize -> decide),
// with the claim fields a claimed record carries. DynamoDB sizing: attribute name + value bytes;
// numbers ~ 1 byte per 2 significant digits + 1; maps/lists 3 bytes + 1 per element.
function attributeSize(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return Math.ceil(String(Math.abs(value)).replace(/[.-]/g, '').replace(/^0+/, '').length / 2) + 1;
  if (typeof value === 'boolean' || value === null) return 1;
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + 1 + attributeSize(v), 0);
  if (typeof value === 'object') return 3 + Object.entries(value as object).reduce((n, [k, v]) => n + 1 + Buffer.byteLength(k) + attributeSize(v), 0);
  return 0;
}
function itemSize(item: Record<string, unknown>): number {
  return Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k) + attributeSize(v), 0);
}
function sampleItemBytes(): number {
  const now = Date.now();
  const normalized = normalizeStatusMessage({ body: JSON.stringify(v1Message({ sentAt: new Date(now).toISOString() })), sentTimestamp: now });
  if (!normalized.ok || normalized.event.kind !== 'game-server') throw new Error('sample event did not normalize');
  const decision = decideGameServerWrite(undefined, normalized.event, now, { heartbeatTimeoutMs: 30_000, retentionMs: 86_400_000, availabilityShards: 64 });
  if (decision.kind !== 'write') throw new Error('sample event was not written');
  return itemSize({ ...decision.item, status: 'claimed', claimId: '6f1c2b1e-0000-4000-8000-000000000001', claimAttempt: '0b7e3c52-0000-4000-8000-000000000002', claimedAt: now, leaseExpiresAt: now + 60_000 });
}
const ITEM_BYTES = sampleItemBytes();
/** A GSI entry: the projected item (ALL) plus ~100 bytes of index overhead. */
const INDEX_ENTRY_BYTES = ITEM_BYTES + 100;
const WCU_PER_INDEX_WRITE = Math.ceil(INDEX_ENTRY_BYTES / 1024);
const WCU_PER_ITEM_WRITE = Math.ceil(ITEM_BYTES / 1024);
/** A claim: claim record PutItem + server UpdateItem (standard writes) + 3 availability GSIs x 2 (availableAt moves). */
const CLAIM_WRU = 2 * WCU_PER_ITEM_WRITE + 3 * 2 * WCU_PER_INDEX_WRITE;
/** A lost race: the failed conditional update (still billed), the claim record put, its withdrawal. */
const LOST_RACE_WRU = 3 * WCU_PER_ITEM_WRITE;
const rruForQuery = (items: number) => Math.ceil((items * INDEX_ENTRY_BYTES) / 4096) * 0.5;

// ---------------------------------------------------------------------------------------------
// Endpoints as a fleet on hostNetwork nodes has them: node IP, one port per server on the node.
function fleetEndpoints(count: number): string[] {
  const perNode = 10;
  return Array.from({ length: count }, (_, i) => {
    const node = Math.floor(i / perNode);
    return `10.${20 + ((node >> 16) & 255)}.${(node >> 8) & 255}.${node & 255}:${7000 + (i % perNode)}`;
  });
}

interface ShardSpread {
  shards: number;
  min: number;
  max: number;
  mean: number;
  /** max / mean */
  skew: number;
}
function shardSpread(endpoints: string[], shards: number): ShardSpread {
  const sizes = new Array<number>(shards).fill(0);
  for (const endpoint of endpoints) sizes[shardOf(endpoint, shards)]!++;
  const mean = endpoints.length / shards;
  const max = Math.max(...sizes);
  return { shards, min: Math.min(...sizes), max, mean, skew: Math.round((max / mean) * 1000) / 1000 };
}

// ---------------------------------------------------------------------------------------------
// The event-driven simulation.
interface Server {
  rank: number;
  shard: number;
  available: boolean;
  /** When the claim write that took it completed (the index drops it LAG_MS later). */
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

type Strategy = 'current' | 'proposed';

interface SimResult {
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

class Heap<T> {
  private items: Array<{ at: number; seq: number; value: T }> = [];
  private seq = 0;
  get size() {
    return this.items.length;
  }
  push(at: number, value: T) {
    const items = this.items;
    items.push({ at, seq: this.seq++, value });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.less(items[parent]!, items[i]!)) break;
      [items[parent], items[i]] = [items[i]!, items[parent]!];
      i = parent;
    }
  }
  pop(): { at: number; value: T } {
    const items = this.items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && this.less(items[l]!, items[m]!)) m = l;
        if (r < items.length && this.less(items[r]!, items[m]!)) m = r;
        if (m === i) break;
        [items[m], items[i]] = [items[i]!, items[m]!];
        i = m;
      }
    }
    return top;
  }
  private less(a: { at: number; seq: number }, b: { at: number; seq: number }) {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
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

function simulate(strategy: Strategy, shards: number, endpoints: string[], seed: number): SimResult {
  const random = mulberry32(seed);
  const servers: Server[] = endpoints.map((endpoint) => ({ rank: 0, shard: shardOf(endpoint, shards), available: true, claimedAt: -Infinity, entry: -1 }));
  // Endpoint order (the index's tie-break among equal availableAt): a random permutation stands in.
  const order = servers.map((_, i) => i).sort(() => random() - 0.5);
  order.forEach((serverIndex, rank) => (servers[serverIndex]!.rank = rank));
  const queues: Entry[][] = Array.from({ length: shards }, () => []);
  const heads = new Array<number>(shards).fill(0);
  let entryIds = 0;
  const events = new Heap<Event>();

  // Steady state from the start: half the fleet in sessions that end uniformly within SESSION_MS.
  const byRank = [...servers.keys()].sort((a, b) => servers[a]!.rank - servers[b]!.rank);
  for (const index of byRank) {
    const server = servers[index]!;
    if (random() < 0.5) {
      server.available = false;
      server.claimedAt = -LAG_MS - 1;
      events.push(random() * SESSION_MS, { kind: 'release', server: index });
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
  const measuring = (t: number) => t >= WARMUP_MS;

  /** What a query of one shard at time t returns: the first `limit` entries the index shows. */
  const listShard = (shard: number, t: number, limit: number): Entry[] => {
    const queue = queues[shard]!;
    const snapshot = t - LAG_MS;
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
    if (request.attempts >= MAX_ATTEMPTS) {
      if (measuring(t)) failed++;
      finish(t, instanceIndex);
      return;
    }
    request.attempts++;
    if (instance.cache.items.length === 0 || t - instance.cache.fetchedAt > CACHE_TTL_MS) {
      const listShards = strategy === 'current' ? [...Array(shards).keys()] : [Math.floor(random() * shards)];
      events.push(t + QUERY_MS, { kind: 'listed', instance: instanceIndex, request, shards: listShards });
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
    events.push(t + WRITE_MS, { kind: 'written', instance: instanceIndex, request, server });
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
    if (t > SIM_MS) break;
    if (measuring(t)) instanceTime += busyInstances * (t - Math.max(lastTime, WARMUP_MS));
    lastTime = t;
    switch (event.kind) {
      case 'arrival': {
        events.push(t - Math.log(1 - random()) * (1000 / RATE), { kind: 'arrival' });
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
        const start = t - QUERY_MS;
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
          events.push(t + SESSION_MS * (0.8 + 0.4 * random()), { kind: 'release', server: event.server });
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
          events.push(t + WRITE_MS, { kind: 'retry', instance: event.instance, request: event.request });
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
        const entry: Entry = { server: event.server, availableAt: t, visibleFrom: t + LAG_MS, id: entryIds++ };
        server.entry = entry.id;
        queues[server.shard]!.push(entry);
        break;
      }
    }
  }

  const measuredSec = (SIM_MS - WARMUP_MS) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? Number.NaN;
  const r2 = (v: number) => Math.round(v * 100) / 100;
  return {
    strategy,
    shards,
    claimsPerSec: Math.round(claims / measuredSec),
    failedPerSec: Math.round(failed / measuredSec),
    instances: Math.round(instanceTime / (SIM_MS - WARMUP_MS)),
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

// ---------------------------------------------------------------------------------------------
// Writes on the availability indexes: per event, how many index writes each of the three
// availability GSIs (all / region / group; ALL projection) takes.
// - A change of availableAt (the GSI sort key) is a delete plus a put: 2 index writes.
// - Any other change of a record in the index (a heartbeat) is 1 index write (ALL projection).
// - Sparse index (proposal): busy servers carry no pool keys; becoming busy is a delete (1),
//   becoming available again a put (1), and a busy server's heartbeat touches no index.
interface WriteLoad {
  layout: 'current' | 'sparse';
  /** Index writes per second on one availability GSI, whole pool. */
  indexWritesPerSec: number;
  byCause: Record<string, number>;
}
function indexWriteLoad(layout: 'current' | 'sparse', inIndexFraction: number): WriteLoad {
  const heartbeats = N / HEARTBEAT_S;
  const byCause =
    layout === 'current'
      ? { claim: RATE * 2, confirm: RATE * 2, release: RATE * 2, heartbeat: heartbeats }
      : { claim: RATE * 2, confirm: RATE * 1, release: RATE * 1, heartbeat: heartbeats * inIndexFraction };
  for (const key of Object.keys(byCause) as Array<keyof typeof byCause>) byCause[key] *= WCU_PER_INDEX_WRITE;
  return { layout, indexWritesPerSec: Object.values(byCause).reduce((a, b) => a + b, 0), byCause };
}

// ---------------------------------------------------------------------------------------------
// Cost per million claims (claim-gs count 1), on-demand.
function costPerMillion(sim: SimResult) {
  // claim: as simulated (successful writes, lost races, listings).
  const dynamo = sim.wruPerClaim * PRICE.wru + sim.rruPerClaim * PRICE.rru;
  const lambda = PRICE.lambdaRequest + (sim.latencyP50Ms / 1000) * LAMBDA_GB * PRICE.lambdaGbSecondArm * 1e6;
  const api = PRICE.httpApi;
  // confirm: GetItem (1 RRU) + TransactWriteItems (claim Update + server Update: 2 x 2 WRU) + 3 x 2
  // index writes + BatchGetItem of the server (1 RRU); release: GetItem (1) + UpdateItem server
  // (1 WRU) + 3 x 2 index writes + UpdateItem claim (1 WRU) + BatchGetItem (1). Plus a Lambda call and an API call each.
  const confirmDynamo = (2 * 2 * WCU_PER_ITEM_WRITE + 6 * WCU_PER_INDEX_WRITE) * PRICE.wru + 2 * PRICE.rru;
  const releaseDynamo = (2 * WCU_PER_ITEM_WRITE + 6 * WCU_PER_INDEX_WRITE) * PRICE.wru + 2 * PRICE.rru;
  const perCall = PRICE.lambdaRequest + 0.02 * LAMBDA_GB * PRICE.lambdaGbSecondArm * 1e6 + PRICE.httpApi;
  const r = (v: number) => Math.round(v * 100) / 100;
  return {
    wruPerClaim: sim.wruPerClaim,
    rruPerClaim: sim.rruPerClaim,
    claimOnly: { dynamodb: r(dynamo), lambda: r(lambda), httpApi: r(api), total: r(dynamo + lambda + api) },
    withConfirmAndRelease: { total: r(dynamo + lambda + api + confirmDynamo + releaseDynamo + 2 * perCall) },
  };
}

// ---------------------------------------------------------------------------------------------
const endpoints = fleetEndpoints(N);
const spreads = SHARDS.map((s) => shardSpread(endpoints, s));
const started = Date.now();
const sims: SimResult[] = [];
for (const shards of SHARDS) {
  for (const strategy of ['current', 'proposed'] as const) {
    process.stderr.write(`simulating ${strategy} with ${shards} shard(s)...\n`);
    sims.push(simulate(strategy, shards, endpoints, Number(values.seed) + shards));
  }
}
const loads = [indexWriteLoad('current', 1), indexWriteLoad('sparse', 0.55)];

const lines: string[] = [];
const table = (header: string[], rows: Array<Array<string | number>>) => {
  lines.push(`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`), '');
};
lines.push(`# Shard simulation: ${N.toLocaleString('en-US')} servers, ${RATE.toLocaleString('en-US')} claims/s`, '');
lines.push(
  `Assumptions: session ${SESSION_MS / 1000} s (so about half the fleet is claimed in steady state), heartbeat every ${HEARTBEAT_S} s, ` +
    `Query ${QUERY_MS} ms, a claim attempt (claim record PutItem and server UpdateItem side by side) ${WRITE_MS} ms, undoing a lost attempt ${WRITE_MS} ms, GSI propagation lag ${LAG_MS} ms, candidate cache ${CACHE_TTL_MS} ms / ${LIST_SIZE} servers, ` +
    `Poisson arrivals, one request per Lambda instance at a time. Record ${ITEM_BYTES} B (index entry ~${INDEX_ENTRY_BYTES} B): ` +
    `${WCU_PER_ITEM_WRITE} WCU per item write, ${WCU_PER_INDEX_WRITE} per index write. Simulated ${SIM_MS / 1000} s (first ${WARMUP_MS / 1000} s not counted).`,
  '',
);
lines.push('## 1. How evenly shardOf() spreads the fleet', '');
table(
  ['shards', 'servers per shard (min / mean / max)', 'skew (max ÷ mean)'],
  spreads.map((s) => [s.shards, `${s.min} / ${Math.round(s.mean)} / ${s.max}`, s.skew.toFixed(3)]),
);
lines.push('## 2. Writes on each availability GSI (the whole pool), index writes/s', '');
table(
  ['layout', 'claims', 'confirms', 'releases', 'heartbeats', 'total', `shards needed at ${PARTITION_WCU} WCU/partition (x skew, 80 % headroom)`],
  loads.map((l) => {
    // Shards needed: the hottest shard (mean x skew) stays under 80 % of a partition's write limit.
    const need = (s: ShardSpread) => (l.indexWritesPerSec / s.shards) * s.skew <= PARTITION_WCU * 0.8;
    const enough = spreads.find(need);
    return [
      l.layout === 'current' ? 'current (every record in the index; ALL projection)' : 'sparse (busy servers leave the index)',
      l.byCause.claim!,
      l.byCause.confirm!,
      l.byCause.release!,
      Math.round(l.byCause.heartbeat!),
      Math.round(l.indexWritesPerSec),
      enough ? String(enough.shards) : `more than ${SHARDS[SHARDS.length - 1]}`,
    ];
  }),
);
lines.push('## 3. Claim path at scale: candidate strategy x shards', '');
lines.push(
  '`current`: every refresh queries every shard (page of 200), merges, keeps the 100 oldest-available (ties in endpoint order), picks at random; a lost race lists afresh. ' +
    '`proposed`: every refresh queries one random shard (page of 50), picks at random; a lost race lists afresh from another random shard.',
  '',
);
table(
  ['strategy', 'shards', 'claims/s', 'failed/s', 'instances', 'lost races/claim', 'DynamoDB requests/claim', 'RRU/claim', 'p50 ms', 'p99 ms', 'hottest shard RCU/s', `hottest shard WCU/s (current / sparse)`, 'within partition limits'],
  sims.map((s) => {
    const spread = spreads.find((x) => x.shards === s.shards)!;
    const wcu = loads.map((l) => Math.round((l.indexWritesPerSec / s.shards) * spread.skew));
    const ok = (w: number) => w <= PARTITION_WCU && s.hottestShardRcu <= PARTITION_RCU;
    return [
      s.strategy,
      s.shards,
      s.claimsPerSec,
      s.failedPerSec,
      s.instances,
      s.lostRacesPerClaim,
      s.requestsPerClaim,
      s.rruPerClaim,
      s.latencyP50Ms,
      s.latencyP99Ms,
      s.hottestShardRcu,
      `${wcu[0]} / ${wcu[1]}`,
      `${ok(wcu[0]!) ? 'yes' : 'no'} / ${ok(wcu[1]!) ? 'yes' : 'no'}`,
    ];
  }),
);
const best = sims.filter((s) => s.strategy === 'proposed' && s.shards === 64)[0] ?? sims[sims.length - 1]!;
const current64 = sims.filter((s) => s.strategy === 'current' && s.shards === 64)[0] ?? sims[0]!;
const costs = { current: costPerMillion(current64), proposed: costPerMillion(best) };
lines.push('## 4. Cost per million claims (on-demand, us-east-1 prices; 512 MB arm64 Lambda; HTTP API)', '');
table(
  ['candidate strategy (64 shards)', 'WRU / RRU per claim', 'DynamoDB', 'Lambda', 'API Gateway', 'claim only', 'claim + confirm + release'],
  (['current', 'proposed'] as const).map((k) => [k, `${costs[k].wruPerClaim} / ${costs[k].rruPerClaim}`, `$${costs[k].claimOnly.dynamodb}`, `$${costs[k].claimOnly.lambda}`, `$${costs[k].claimOnly.httpApi}`, `$${costs[k].claimOnly.total}`, `$${costs[k].withConfirmAndRelease.total}`]),
);
// The heartbeat pipeline, apart from claims: pod -> SQS -> status-poller -> DynamoDB, per 30 days.
const MONTH_S = 30 * 86_400;
const SQS_PER_MILLION = 0.4;
function heartbeatMonth(intervalS: number, inIndexFraction: number) {
  const events = N / intervalS;
  const batches = events / 10;
  const sqs = (events + 2 * batches) * SQS_PER_MILLION; // a send per event; a receive and a delete per batch
  const lambda = batches * PRICE.lambdaRequest + batches * (2 * QUERY_MS + 5) / 1000 * LAMBDA_GB * PRICE.lambdaGbSecondArm * 1e6;
  const reads = events * 1 * PRICE.rru; // consistent GetItem, <= 4 KB
  const writes = events * (WCU_PER_ITEM_WRITE + 3 * inIndexFraction * WCU_PER_INDEX_WRITE) * PRICE.wru;
  const month = (perSecondMillionths: number) => Math.round((perSecondMillionths * MONTH_S) / 1e6);
  return { intervalS, events, sqs: month(sqs), lambda: month(lambda), dynamodbReads: month(reads), dynamodbWrites: month(writes), total: month(sqs + lambda + reads + writes) };
}
const heartbeatCosts = [
  { layout: 'current', ...heartbeatMonth(HEARTBEAT_S, 1) },
  { layout: 'sparse', ...heartbeatMonth(HEARTBEAT_S, 0.55) },
  { layout: 'current', ...heartbeatMonth(HEARTBEAT_S * 3, 1) },
  { layout: 'sparse', ...heartbeatMonth(HEARTBEAT_S * 3, 0.55) },
];
lines.push(`Heartbeats, apart from claims (${N.toLocaleString('en-US')} servers; one SQS message per heartbeat, batches of 10 to the poller; USD per 30 days):`, '');
table(
  ['heartbeat every', 'index layout', 'events/s', 'SQS', 'Lambda', 'DynamoDB reads', 'DynamoDB writes', 'total'],
  heartbeatCosts.map((h) => [`${h.intervalS} s`, h.layout, Math.round(h.events).toLocaleString('en-US'), `$${h.sqs.toLocaleString('en-US')}`, `$${h.lambda.toLocaleString('en-US')}`, `$${h.dynamodbReads.toLocaleString('en-US')}`, `$${h.dynamodbWrites.toLocaleString('en-US')}`, `$${h.total.toLocaleString('en-US')}`]),
);
// Lambda and SQS concurrency the load needs (Little's law: concurrency = rate x time per call).
const claimInstances = best.instances;
const pollerBatchMs = 2 * QUERY_MS + 5; // read + conditional put per event (events of a batch run in parallel) + overhead
const eventsPerSec = N / HEARTBEAT_S; // heartbeats dominate the poller's work
const pollerConcurrency = Math.ceil((eventsPerSec / 10) * (pollerBatchMs / 1000));
lines.push('## 5. Concurrency the load needs (Little\'s law)', '');
table(
  ['function', 'rate', 'time per invocation', 'concurrent executions'],
  [
    ['claim-gs (proposed, 64 shards)', `${RATE}/s`, `p50 ${best.latencyP50Ms} ms (simulated)`, `~${claimInstances}`],
    ['status-poller (batches of 10)', `${Math.round(eventsPerSec).toLocaleString('en-US')} events/s`, `~${pollerBatchMs} ms per batch (assumed)`, `~${pollerConcurrency}`],
  ],
);
process.stdout.write(lines.join('\n'));
process.stderr.write(`simulation took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
if (values.json) {
  writeFileSync(
    values.json,
    `${JSON.stringify({ parameters: { servers: N, rate: RATE, sessionMs: SESSION_MS, heartbeatSeconds: HEARTBEAT_S, queryMs: QUERY_MS, writeMs: WRITE_MS, lagMs: LAG_MS, itemBytes: ITEM_BYTES }, spreads, loads, sims, costs, heartbeatCosts }, null, 1)}\n`,
  );
}
