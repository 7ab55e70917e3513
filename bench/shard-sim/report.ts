import { CACHE_TTL_MS, CURRENT_PAGE, LIST_SIZE, POSITIONS_PAGE, PROPOSED_PAGE } from './model';
import { INDEX_ENTRY_BYTES, ITEM_BYTES, PARTITION_RCU, PARTITION_WCU, WCU_PER_INDEX_WRITE, WCU_PER_ITEM_WRITE } from './capacity';
import type { costPerMillion, heartbeatMonth } from './cost';
import type { ShardSpread } from './fleet';
import type { PollerLoad, WriteLoad } from './load';
import type { SimParams } from './params';
import type { SimResult, Strategy } from './simulate';

export interface ShardSimResults {
  spreads: ShardSpread[];
  loads: WriteLoad[];
  sims: SimResult[];
  /** The proposed strategy's run the cost and concurrency sections quote (64 shards, else the last run). */
  best: SimResult;
  /** The positions strategy's run the concurrency section quotes (64 shards, else the last run). */
  positions: SimResult;
  costs: Record<Strategy, ReturnType<typeof costPerMillion>>;
  heartbeatCosts: Array<{ layout: string } & ReturnType<typeof heartbeatMonth>>;
  poller: PollerLoad;
}

/** The Markdown report (docs/SCALING.md quotes it). */
export function renderReport(p: SimParams, results: ShardSimResults): string {
  const { spreads, loads, sims, best, positions, costs, heartbeatCosts, poller } = results;
  const lines: string[] = [];
  const table = (header: string[], rows: Array<Array<string | number>>) => {
    lines.push(`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`), '');
  };
  lines.push(`# Shard simulation: ${p.servers.toLocaleString('en-US')} servers, ${p.rate.toLocaleString('en-US')} claims/s`, '');
  lines.push(
    `Assumptions: session ${p.sessionMs / 1000} s (so about half the fleet is claimed in steady state), heartbeat every ${p.heartbeatS} s, ` +
      `Query ${p.queryMs} ms, a claim attempt (claim record PutItem and server UpdateItem side by side) ${p.writeMs} ms, undoing a lost attempt ${p.writeMs} ms, GSI propagation lag ${p.lagMs} ms, candidate cache ${CACHE_TTL_MS} ms / ${LIST_SIZE} servers, ` +
      `Poisson arrivals, one request per Lambda instance at a time. Record ${ITEM_BYTES} B (index entry ~${INDEX_ENTRY_BYTES} B): ` +
      `${WCU_PER_ITEM_WRITE} WCU per item write, ${WCU_PER_INDEX_WRITE} per index write. Simulated ${p.simMs / 1000} s (first ${p.warmupMs / 1000} s not counted).`,
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
        enough ? String(enough.shards) : `more than ${p.shards[p.shards.length - 1]}`,
      ];
    }),
  );
  lines.push('## 3. Claim path at scale: candidate strategy x shards', '');
  lines.push(
    `\`current\`: every refresh queries every shard (page of ${CURRENT_PAGE}), merges, keeps the ${LIST_SIZE} oldest-available (ties in endpoint order), picks at random; a lost race lists afresh. ` +
      `\`proposed\`: every refresh queries one random shard (page of ${PROPOSED_PAGE}, its oldest-available), picks at random; a lost race lists afresh from another random shard. ` +
      `\`positions\` (random pool positions): an available server's availableAt is a pool position in [0, 1), drawn afresh each time it enters the pool; ` +
      `every refresh queries one random shard from a random position u (\`availableAt BETWEEN u AND now\`, page of ${POSITIONS_PAGE}) and, when that page comes back short, ` +
      `a second Query wraps around (\`availableAt < u\`, Limit the rest); both Queries count in requests and RRU; picks at random; a lost race lists afresh from another random shard and position.`,
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
  lines.push(
    `"Within partition limits": the hottest shard takes at most ${PARTITION_WCU} WCU/s of index writes and at most ${PARTITION_RCU} RCU/s of candidate reads. ` +
      'The index writes (claims, confirms, releases, heartbeats; section 2) do not depend on the candidate strategy, only on the shard count: ' +
      `with too few shards no strategy is within limits, whatever claims/s it serves (at 1 shard the one partition takes all ${Math.round(loads[0]?.indexWritesPerSec ?? 0)} / ${Math.round(loads[1]?.indexWritesPerSec ?? 0)} index writes/s).`,
    '',
  );
  lines.push('## 4. Cost per million claims (on-demand, us-east-1 prices; 512 MB arm64 Lambda; HTTP API)', '');
  table(
    ['candidate strategy (64 shards)', 'WRU / RRU per claim', 'DynamoDB', 'Lambda', 'API Gateway', 'claim only', 'claim + confirm + release'],
    (['current', 'proposed', 'positions'] as const).map((k) => [k, `${costs[k].wruPerClaim} / ${costs[k].rruPerClaim}`, `$${costs[k].claimOnly.dynamodb}`, `$${costs[k].claimOnly.lambda}`, `$${costs[k].claimOnly.httpApi}`, `$${costs[k].claimOnly.total}`, `$${costs[k].withConfirmAndRelease.total}`]),
  );
  lines.push(`Heartbeats, apart from claims (${p.servers.toLocaleString('en-US')} servers; one SQS message per heartbeat, batches of 10 to the poller; USD per 30 days):`, '');
  table(
    ['heartbeat every', 'index layout', 'events/s', 'SQS', 'Lambda', 'DynamoDB reads', 'DynamoDB writes', 'total'],
    heartbeatCosts.map((h) => [`${h.intervalS} s`, h.layout, Math.round(h.events).toLocaleString('en-US'), `$${h.sqs.toLocaleString('en-US')}`, `$${h.lambda.toLocaleString('en-US')}`, `$${h.dynamodbReads.toLocaleString('en-US')}`, `$${h.dynamodbWrites.toLocaleString('en-US')}`, `$${h.total.toLocaleString('en-US')}`]),
  );
  const claimInstances = best.instances;
  const { pollerBatchMs, eventsPerSec, pollerConcurrency } = poller;
  lines.push('## 5. Concurrency the load needs (Little\'s law)', '');
  table(
    ['function', 'rate', 'time per invocation', 'concurrent executions'],
    [
      [`claim-gs (proposed, ${best.shards} shards)`, `${p.rate}/s`, `p50 ${best.latencyP50Ms} ms (simulated)`, `~${claimInstances}`],
      [`claim-gs (positions, ${positions.shards} shards)`, `${p.rate}/s`, `p50 ${positions.latencyP50Ms} ms (simulated)`, `~${positions.instances}`],
      ['status-poller (batches of 10)', `${Math.round(eventsPerSec).toLocaleString('en-US')} events/s`, `~${pollerBatchMs} ms per batch (assumed)`, `~${pollerConcurrency}`],
    ],
  );
  return lines.join('\n');
}
