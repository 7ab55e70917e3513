import type { RunRow } from '../lib/context';
import { floorFor, FLOOR_TWO_WRITES, FLOOR_UPDATE, type BenchResults } from './summary';

const f = (value: number | undefined, digits = 0) => (value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits));
const ms = (value: number | undefined) => f(value, value !== undefined && value < 10 ? 2 : 1);

function table(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const cpuNote = (row: RunRow | undefined) =>
  row?.cpu
    ? Object.entries(row.cpu)
        .map(([name, cores]) => `${name} ${cores.toFixed(2)}`)
        .join(', ')
    : 'n/a';

/** The whole result as markdown: what `npm run bench` prints and writes. */
export function renderMarkdown(r: BenchResults): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`# Benchmark results (${r.mode} run)`);
  out.push('');
  out.push(
    `${r.generatedAt} · ${m.cpus} × ${m.cpuModel} · ${m.memoryGb} GB · Node ${m.node} · ${m.java} · DynamoDB Local ${m.dynamodbLocal} (in memory) · ` +
      `runtime ${r.runtimeSeconds.toFixed(0)} s · each measured run ${r.settings.runSeconds} s, closed loop · load average at start ${m.loadAverageAtStart.join(' / ')}`,
  );
  out.push('');
  const c16 = r.claims.find((x) => x.label === 'claim-gs' && x.via === 'in-process' && x.concurrency === 16);
  out.push(
    `All of it shares the machine's ${m.cpus} cores: DynamoDB Local (java), local SQS, the HTTP server process, and the ` +
      `load generator with the in-process handlers. Cores busy during claim-gs in-process at c=16: ${cpuNote(c16)} (per run in the JSON, \`cpu\`).`,
  );
  out.push('');

  out.push('## Targets (DESIGN.md, concurrency 16, against the floor measured next to the claim run)');
  out.push('');
  out.push(table(['target', 'measured', 'bar', 'met'], r.targets.map((t) => [t.name, t.measured, t.threshold, t.met ? 'yes' : '**no**'])));
  out.push('');

  out.push('## Floor: raw DynamoDB Local round trips');
  out.push('');
  out.push(
    table(
      ['operation', 'c', 'ops/s', 'p50 ms', 'p95 ms', 'p99 ms'],
      r.floor.map((x) => [x.label, x.concurrency, f(x.perSec), ms(x.latency.p50), ms(x.latency.p95), ms(x.latency.p99)]),
    ),
  );
  out.push('');

  out.push('## Floor measured next to each claim-gs run (same table, same concurrency, just before)');
  out.push('');
  out.push(
    table(
      ['operation', 'c', 'ops/s', 'p50 ms', 'p95 ms', 'p99 ms'],
      r.adjacentFloor.map((x) => [x.label, x.concurrency, f(x.perSec), ms(x.latency.p50), ms(x.latency.p95), ms(x.latency.p99)]),
    ),
  );
  out.push('');

  out.push('## Claims (count 1)');
  out.push('');
  out.push('"DynamoDB requests/claim" counts every command the claim path sent (a claim sends its claim record and server write side by side: 2 requests, one round trip of latency; listings and undone attempts included). "÷ floor" divides by the floor measured next to the in-process claim-gs run at the same concurrency (table above); "÷ baseline" by the baseline\'s distinct servers/s. "table disagreements" include claim records that do not match the servers.');
  out.push('');
  const ratioAt = (c: number) => r.ratios.find((x) => x.concurrency === c);
  out.push(
    table(
      ['route', 'via', 'c', 'claims/s', 'p50 ms', 'p95 ms', 'p99 ms', 'DynamoDB requests/claim', 'misses', 'double claims', 'table disagreements', '÷ floor UpdateItem', '÷ floor UpdateItem + PutItem', '÷ baseline'],
      r.claims.map((x) => {
        const update = floorFor(r, FLOOR_UPDATE, x.concurrency)?.perSec;
        const twoWrites = floorFor(r, FLOOR_TWO_WRITES, x.concurrency)?.perSec;
        const baseline = ratioAt(x.concurrency)?.baselineDistinctPerSec;
        const perSec = x.claims?.distinctPerSec ?? x.perSec;
        return [
          x.label,
          x.via,
          x.concurrency,
          f(perSec),
          ms(x.latency.p50),
          ms(x.latency.p95),
          ms(x.latency.p99),
          f(x.roundTripsPerOk, 3),
          x.misses,
          x.claims?.doubleClaims ?? '–',
          x.claims ? x.claims.tableDisagreements + x.claims.recordDisagreements : '–',
          update ? f(perSec / update, 2) : '–',
          twoWrites ? f(perSec / twoWrites, 2) : '–',
          baseline ? f(perSec / baseline, 1) : '–',
        ];
      }),
    ),
  );
  out.push('');
  const instanceRows = r.claims.filter((x) => x.instances);
  if (instanceRows.length) {
    out.push(
      'The local HTTP server runs claim-gs as Lambda does (one request per instance at a time; a cold start, `makeHandler(deps)` with empty caches, when all are busy). Instances made per http run: ' +
        instanceRows
          .map((x) => `c=${x.concurrency}: ${x.instances!.created} new (${x.instances!.total} in all), initialisation ${x.instances!.created ? ms(x.instances!.coldStartMs / x.instances!.created) : '–'} ms each`)
          .join('; ') +
        '. A new instance\'s first claim also lists candidates afresh: that cost is in the row\'s latency and requests/claim.',
    );
    out.push('');
  }

  out.push('## Baseline: the replaced sample\'s strategy (GSI query, first item, unconditional put), same pool shape and concurrency');
  out.push('');
  out.push(
    table(
      ['c', 'claims/s (callers told "yours")', 'distinct servers/s', 'double claims', 'hand-outs the table gave to another caller', 'p50 ms', 'p99 ms', 'round trips/claim'],
      r.baseline.map((x) => [
        x.concurrency,
        f(x.perSec),
        f(x.claims?.distinctPerSec),
        x.claims?.doubleClaims ?? '–',
        x.claims?.tableDisagreements ?? '–',
        ms(x.latency.p50),
        ms(x.latency.p99),
        f(x.roundTripsPerOk, 2),
      ]),
    ),
  );
  out.push('');

  out.push('## Pairs: `count: 2, distinctNodes: true` (claim-gs in-process)');
  out.push('');
  out.push(
    table(
      ['c', 'pairs/s', 'p50 ms', 'p99 ms', 'DynamoDB requests/pair', 'misses', 'double claims', 'same-node pairs', 'table disagreements'],
      r.pairs.map((x) => [
        x.concurrency,
        f(x.claims?.distinctPerSec ?? x.perSec),
        ms(x.latency.p50),
        ms(x.latency.p99),
        f(x.roundTripsPerOk, 3),
        x.misses,
        x.claims?.doubleClaims ?? '–',
        x.claims?.sameNodeSets ?? '–',
        x.claims ? x.claims.tableDisagreements + x.claims.recordDisagreements : '–',
      ]),
    ),
  );
  out.push('');

  out.push('## Candidate strategies across function instances (lib claim path, one instance per claimer)');
  out.push('');
  out.push(
    'The shipped CandidateCache lists one random shard per refresh (page of 100; the whole pool only when that page cannot form the set), so separate instances hold different candidates; ' +
      'an alternative candidate source measured beside it (bench/lib/random-shard-candidates.ts) does the same with pages of 50, no hold-back and no whole-pool fallback. Same pool shape and concurrency, AVAILABILITY_SHARDS=16.',
  );
  out.push('');
  out.push(
    table(
      ['candidates', 'c', 'claims/s', 'p50 ms', 'p99 ms', 'DynamoDB requests/claim', 'commands', 'misses', 'double claims', 'table disagreements'],
      r.candidates.map((x) => [
        x.label,
        x.concurrency,
        f(x.claims?.distinctPerSec ?? x.perSec),
        ms(x.latency.p50),
        ms(x.latency.p99),
        f(x.roundTripsPerOk, 3),
        Object.entries(x.commands ?? {})
          .map(([name, n]) => `${name.replace(/Command$/, '')} ${n}`)
          .join(', '),
        x.misses,
        x.claims?.doubleClaims ?? '–',
        x.claims ? x.claims.tableDisagreements + x.claims.recordDisagreements : '–',
      ]),
    ),
  );
  out.push('');

  out.push('## Listing: `get-available-gs`, one request at a time');
  out.push('');
  out.push(
    table(
      ['registered servers', 'request', 'via', 'p50 ms', 'p99 ms', 'round trips/request', 'items read/request', 'servers returned'],
      r.listing.map((x) => [
        x.listing?.registered ?? '–',
        x.listing?.shape ?? '–',
        x.via,
        ms(x.latency.p50),
        ms(x.latency.p99),
        f(x.roundTripsPerOk, 2),
        f(x.listing?.itemsReadPerRequest, 1),
        f(x.listing?.returnedPerRequest, 1),
      ]),
    ),
  );
  out.push('');

  out.push('## Ingestion: status-poller');
  out.push('');
  out.push(
    table(
      ['path', 'events/s', 'round trips/event', 'batch p50 ms', 'batch p99 ms', 'queue→applied p50 / p99 ms', 'failed', 'servers at newest event', 'dead-lettered'],
      r.ingestion.map((x) => [
        x.via,
        f(x.perSec),
        f(x.roundTripsPerOk, 2),
        ms(x.latency.p50),
        ms(x.latency.p99),
        x.ingestion?.queueToAppliedMs ? `${ms(x.ingestion.queueToAppliedMs.p50)} / ${ms(x.ingestion.queueToAppliedMs.p99)}` : '–',
        x.ingestion?.failed ?? '–',
        x.ingestion ? `${x.ingestion.applied} / ${x.ingestion.servers}` : '–',
        x.ingestion?.deadLettered ?? '–',
      ]),
    ),
  );
  out.push('');

  out.push('## Ratios (claim-gs in-process, distinct servers/s)');
  out.push('');
  out.push(
    table(
      ['c', 'ours/s', 'floor UpdateItem/s', 'ours ÷ floor UpdateItem', 'floor UpdateItem + PutItem/s', 'ours ÷ that', 'floor TransactWriteItems/s', 'ours ÷ floor Transact', 'baseline distinct/s', 'ours ÷ baseline'],
      r.ratios.map((x) => [
        x.concurrency,
        f(x.oursPerSec),
        f(x.floorUpdatePerSec),
        f(x.oursOverFloorUpdate, 2),
        f(x.floorTwoWritesPerSec),
        f(x.oursOverFloorTwoWrites, 2),
        f(x.floorTransactPerSec),
        f(x.oursOverFloorTransact, 2),
        f(x.baselineDistinctPerSec),
        f(x.oursOverBaseline, 1),
      ]),
    ),
  );
  out.push('');

  out.push('## Correctness');
  out.push('');
  const c = r.correctness;
  out.push(
    `Ours (claim-gs, set-gs-busy, pairs, candidate strategies): **${c.ourDoubleClaims} double claims**, ${c.ourTableDisagreements} table disagreements, ${c.ourRecordDisagreements} claim-record disagreements, ` +
      `${c.ourSameNodePairs} same-node pairs, ${c.ourErrors} errors. Baseline: **${c.baselineDoubleClaims} double claims**, ` +
      `${c.baselineLostHandOuts} hand-outs the table gave to another caller.`,
  );
  out.push('');
  out.push('## How it was measured');
  out.push('');
  for (const line of r.method) out.push(`- ${line}`);
  out.push('');
  return out.join('\n');
}
