import type { RunRow } from '../lib/context';
import { FLOOR_CYCLE, FLOOR_PAIR, INSTANCE_CASES } from '../lib/instance-cases';
import { floorFor, FLOOR_TWO_WRITES, FLOOR_UPDATE, LAMBDA_GOAL, type BenchResults, type LambdaGoalRow } from './summary';

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

  out.push(...lambdaSection(r));

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
  out.push('"DynamoDB requests/claim" counts every command the claim path sent (a claim sends its server write, then its claim record: 2 requests, two round trips of latency; listings and undone attempts included). "÷ floor" divides by the floor measured next to the in-process claim-gs run at the same concurrency (table above); "÷ baseline" by the baseline\'s distinct servers/s. "table disagreements" include claim records that do not match the servers.');
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

  out.push(...notificationsSection(r));
  out.push(...dashboardSection(r));

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
    `Ours (claim-gs, set-gs-busy, pairs, instances): **${c.ourDoubleClaims} double claims**, ${c.ourTableDisagreements} table disagreements, ${c.ourRecordDisagreements} claim-record disagreements, ` +
      `${c.ourSameNodePairs} same-node pairs, ${c.ourErrors} errors. Baseline: **${c.baselineDoubleClaims} double claims**, ` +
      `${c.baselineLostHandOuts} hand-outs the table gave to another caller.` +
      (r.notifications.length
        ? ` Notifications: ${c.notificationsReceived} of ${c.notificationsExpected} expected events received, **${c.notificationsLost} lost, ${c.notificationsOutOfOrder} out of order**, ` +
          `${c.notificationsUnexpected} unexpected, ${c.notificationDuplicates} duplicates.`
        : ''),
  );
  out.push('');
  out.push('## How it was measured');
  out.push('');
  for (const line of r.method) out.push(`- ${line}`);
  out.push('');
  return out.join('\n');
}

/** Write -> verified webhook receipt, per concurrency, then per event type. */
function notificationsSection(r: BenchResults): string[] {
  const out: string[] = [];
  if (!r.notificationLatency.length) return out;
  const poll = r.notificationLatency[0]!.pollIntervalMs;
  out.push('## Notifications: write → verified webhook receipt');
  out.push('');
  out.push(
    'claim-gs → confirm-claim → release-claim cycles through the handlers in-process, closed loop; the game-server table\'s stream read by the local stream event source (Lambda\'s semantics) into the notifier, ' +
      'published to the local webhook bus, POSTed signed to a receiver on 127.0.0.1 that verifies each signature — as `npm start` runs them, all in this process. ' +
      `Latency: the receiver's Date.now() once an event is verified, minus the event's \`time\` (the record's updatedAt, stamped by the writer just before its write; one machine clock). It includes the write itself, the stream read (the event source waits ${poll} ms after an empty read, so an idle stream adds up to ${poll} ms), the notifier, the bus's queue (one ordered outbox per webhook, one request at a time) and the HTTP delivery. ` +
      'events/s delivered: distinct events received ÷ time from the run\'s first request to the last receipt (bounded by the workload, not a capacity). ' +
      '"write → notifier" / "notifier → receipt": the same latency split where the stream event source handed the record to the notifier. ' +
      '"after the request resolved": receipt minus the client\'s clock when the write\'s request answered (negative: the event arrived first). ' +
      'Every cycle must tell its server exactly gs.claimed, gs.busy, gs.released and gs.available (matched by type, server and claim id), each server\'s events in sequence order. ' +
      'On AWS, Streams\' own propagation and the mapping\'s batching window (infra/functions.cjs) are added; this measures the code path, not AWS.',
  );
  out.push('');
  out.push(
    table(
      ['c', 'cycles', 'events/s delivered', 'p50 ms', 'p99 ms', 'max ms', 'write → notifier p50 / p99 ms', 'notifier → receipt p50 / p99 ms', 'after the request resolved p50 / p99 ms', 'expected', 'received', 'lost', 'out of order', 'duplicates', 'unexpected', 'drained after last answer ms', 'cores'],
      r.notificationLatency.map((x) => {
        const run = r.notifications.find((n) => n.concurrency === x.concurrency);
        return [
          x.concurrency,
          x.cycles,
          f(x.eventsPerSec),
          ms(x.p50Ms),
          ms(x.p99Ms),
          ms(x.maxMs),
          `${ms(x.writeToNotifierP50Ms)} / ${ms(x.writeToNotifierP99Ms)}`,
          `${ms(x.notifierToReceiptP50Ms)} / ${ms(x.notifierToReceiptP99Ms)}`,
          `${ms(x.afterResolveP50Ms)} / ${ms(x.afterResolveP99Ms)}`,
          x.expected,
          x.received,
          x.lost,
          x.outOfOrder,
          x.duplicates,
          run?.notifications?.unexpected ?? '–',
          f(run?.notifications?.drainMs),
          cpuNote(run),
        ];
      }),
    ),
  );
  out.push('');
  out.push('Per event type (gs.released and gs.available come from one write, the release):');
  out.push('');
  out.push(
    table(
      ['c', 'type', 'events', 'p50 ms', 'p99 ms', 'max ms', 'after the request resolved p50 / p99 ms'],
      r.notificationLatency.flatMap((x) => {
        const run = r.notifications.find((n) => n.concurrency === x.concurrency);
        return Object.entries(x.byType).map(([type, l]) => {
          const after = run?.notifications?.afterResolveByType[type];
          return [x.concurrency, type, l.count, ms(l.p50Ms), ms(l.p99Ms), ms(l.maxMs), after ? `${ms(after.p50)} / ${ms(after.p99)}` : '–'];
        });
      }),
    ),
  );
  out.push('');
  return out;
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MB`;
const p50Max = (l: { p50: number; max: number; count: number }) => `${ms(l.p50)} / ${ms(l.max)} (${l.count})`;

/** GET /fleet alone, then the page in headless Chromium, over one fleet. */
function dashboardSection(r: BenchResults): string[] {
  const out: string[] = [];
  for (const x of r.dashboard) {
    const route = x.fleetRoute;
    const p = x.page;
    out.push('## Dashboard: GET /fleet and the page in headless Chromium');
    out.push('');
    out.push(
      `Method: one fresh stage (${x.servers.toLocaleString('en-US')} servers on ${x.nodes.toLocaleString('en-US')} nodes, 2 regions × 3 groups, loaded with BatchWriteItem of the poller's own records; ` +
        `pair claims through claim-gs at c=16, half confirmed; nodes drained through applyNodeEvent, half spot-interruption, half manual) served by the local HTTP server in the bench's process, on the same cores as DynamoDB Local and headless Chromium; ` +
        'GET /fleet is timed from sending to its last body byte, one request at a time with the reader key, "uncached" when its generatedAt is new (a reading from DynamoDB, sent over 2 s after the previous one), "cached" when it repeats the previous one (the route keeps a reading 2 s per instance), requests accept gzip as browsers do, so the times include compressing; raw is the size of the JSON, gzip what goes over the wire (the route gzips answers of 8 KB or more); ' +
        `the page (1920×1080, refresh every 2 s, reader key, a pair claim every 250 ms meanwhile so that refreshes bring changes: ${x.churnClaims} in all) times its first render from navigation start to the first committed render with fleet data, a refresh from its start (fetches included) to its commit, and "render" from the parsed fleet answer to the commit; ` +
        'long tasks by PerformanceObserver, heap is JSHeapUsedSize after the refreshes (no forced GC).',
    );
    out.push('');
    out.push(
      table(
        ['figure', 'value'],
        [
          ['servers / nodes', `${x.servers.toLocaleString('en-US')} / ${x.nodes.toLocaleString('en-US')}`],
          ['pair claims (confirmed) / misses / errors', `${x.pairClaims} (${x.confirmed}) / ${x.claimMisses} / ${x.claimErrors}`],
          ['nodes drained (servers moved to draining)', `${x.drainedNodes} (${x.drainedServers})`],
          ['setup', `${f(x.setupSeconds, 1)} s`],
          ['GET /fleet uncached p50 / max ms (requests)', p50Max(route.uncached)],
          ['GET /fleet cached p50 / max ms (requests)', p50Max(route.cached)],
          ['GET /fleet body raw / gzip', `${mb(route.bodyBytes)} / ${mb(route.gzipBytes)} (${route.serversReturned.toLocaleString('en-US')} servers)`],
          ['first render ms (of which render)', `${ms(p.firstRenderMs)} (${ms(p.firstRenderRenderMs)})`],
          ['every node card drawn ms (later passes of 200 cards)', ms(p.gridCompleteMs)],
          ['refresh p50 / max ms (refreshes)', p50Max(p.refresh)],
          ['refresh render p50 / max ms', p50Max(p.refreshRender)],
          ['longest long task ms (after the first render)', `${ms(p.longestTaskMs)} (${ms(p.longestTaskAfterFirstRenderMs)})`],
          ['long tasks > 200 ms after the first render', p.tasksOver200MsAfterFirstRender],
          ['JS heap used', `${f(p.heapUsedMb, 1)} MB`],
          ['DOM elements', p.domElements.toLocaleString('en-US')],
          ['page errors', p.pageErrors.length ? p.pageErrors.join('; ') : 'none'],
        ],
      ),
    );
    out.push('');
    out.push(`Screenshots: ${x.screenshots.map((path) => `\`${path.split('/').pop()}\``).join(', ')} (next to this report).`);
    out.push('');
  }
  return out;
}

/** The before figures of the issue "claims at Lambda concurrency", quoted as the issue gives them. */
const BEFORE_ISSUE = [
  '| claim-gs, count 1 | c=16 | c=64 |',
  '| --- | --- | --- |',
  '| one shared instance | 438/s, p99 88 ms, 2.01 requests/claim | 457/s, p99 250 ms |',
  '| one instance per claimer | 153/s, p99 413 ms, 3.21 requests/claim | 107/s, p99 1,846 ms, 4.63 requests/claim |',
  '| one instance per claimer, 16 shards | 563/s, p99 122 ms, 2.19 | 429/s, p99 585 ms, 2.56 |',
  '| floor: UpdateItem + PutItem side by side | 698/s, p50 20.6 ms | 472/s, p50 131 ms |',
].join('\n');

const SHORT_FLOOR: Record<string, string> = {
  [FLOOR_TWO_WRITES]: 'UpdateItem + PutItem',
  [FLOOR_PAIR]: 'UpdateItem ×2 + PutItem',
  [FLOOR_CYCLE]: 'cycle: claim writes + release',
};

const yesNo = (met: boolean) => (met ? 'yes' : '**no**');
const commandList = (commands: Record<string, number> | undefined) =>
  Object.entries(commands ?? {})
    .map(([name, n]) => `${name.replace(/Command$/, '')} ${n}`)
    .join(', ') || '–';

/** The issue "claims at Lambda concurrency": its rows against their adjacent floors, then the issue's before figures. */
function lambdaSection(r: BenchResults): string[] {
  const out: string[] = [];
  if (!r.lambdaConcurrency.length) return out;
  out.push('## Claims at Lambda concurrency (one function instance per claimer, default configuration)');
  out.push('');
  out.push(
    `claim-gs through its handler in-process, one \`makeHandler(deps)\` (its own candidate cache) per concurrent claimer, as one Lambda execution environment per concurrent request; AVAILABILITY_SHARDS=${r.settings.availabilityShards}. ` +
      'Right before each run, on the same stage at the same concurrency, its floors: one conditional UpdateItem, and what one uncontended claim of the kind sends — ' +
      `count 1 and the large pool: "${FLOOR_TWO_WRITES}"; pairs: "${FLOOR_PAIR}"; small pool: "${FLOOR_CYCLE}" (the small pool cycles claim → release, so its floor is the same cycle with nothing in its way: the claim's two writes sent together, then the same release-claim handler on a server of the caller's own; its claims/s is compared with the floor's cycles/s). ` +
      'claims/s: distinct servers claimed/s (pairs: distinct pairs/s; small pool: claims won/s, the servers come back). p99: the claims\' own (small pool: without the release), against the floor op\'s p50 (small pool: the p50 of the cycle floor\'s claim writes alone). ' +
      'DynamoDB requests/claim: every command of the claim path ÷ claims won (listings, lost races, undos; not the releases). ' +
      'Refused claim writes/claim: conditional UpdateItems setting status claimed that DynamoDB refused (ConditionalCheckFailedException, counted per command on the client) ÷ claims won (pairs: ÷ pairs won); the undo of a half-won set is an UpdateItem returning a server to the pool, counted apart (detail table). ' +
      `Goal per row: claims/s ≥ ${LAMBDA_GOAL.throughput} × floor/s, p99 ≤ ${LAMBDA_GOAL.p99OverFloorP50} × floor p50, refused claim writes/claim ≤ ${LAMBDA_GOAL.refusedPerClaim}, ${LAMBDA_GOAL.doubleClaims} double claims (and no table or claim-record disagreement, no same-node pair).`,
  );
  out.push('');
  const rows = r.lambdaConcurrency;
  out.push(
    table(
      [
        'row',
        'c',
        'pool',
        'claims/s',
        'floor/s (which floor)',
        'claims ÷ floor',
        'p99 ms',
        'floor p50 ms',
        'p99 ÷ floor p50',
        'DynamoDB requests/claim',
        'refused claim writes/claim',
        'claims/s ÷ UpdateItem/s',
        'double claims',
        `≥ ${LAMBDA_GOAL.throughput} × floor`,
        `p99 ≤ ${LAMBDA_GOAL.p99OverFloorP50} × floor p50`,
        `refused ≤ ${LAMBDA_GOAL.refusedPerClaim}`,
        '0 double claims',
      ],
      rows.map((x) => [
        x.case,
        x.concurrency,
        x.poolSize.toLocaleString('en-US'),
        f(x.claimsPerSec),
        `${f(x.floorPerSec)} (${SHORT_FLOOR[x.floor] ?? x.floor})`,
        f(x.ratio, 2),
        ms(x.p99Ms),
        ms(x.floorP50Ms),
        f(x.p99OverFloorP50, 2),
        f(x.requestsPerClaim, 2),
        f(x.refusedClaimWritesPerClaim, 3),
        `${f(x.claimsOverUpdateItem, 2)} (of ${f(x.updateItemPerSec)}/s)`,
        x.otherViolations ? `${x.doubleClaims} (+${x.otherViolations} disagreements)` : x.doubleClaims,
        yesNo(x.met.throughput),
        yesNo(x.met.p99),
        yesNo(x.met.refused),
        yesNo(x.met.doubleClaims),
      ]),
    ),
  );
  out.push('');
  out.push('Detail: what the claims sent and what was refused; the small pool\'s releases, counted on a DynamoDB client of their own.');
  out.push('');
  const runOf = (x: LambdaGoalRow) => r.instances.find((run) => (run.case ?? run.label) === x.case && run.concurrency === x.concurrency);
  out.push(
    table(
      ['row', 'c', 'claims won', 'p50 ms', 'commands (claims)', 'refused (by command)', 'undo UpdateItems/claim (refused)', 'release: requests/cycle, p50 ms', 'misses', 'errors'],
      rows.map((x) => {
        const run = runOf(x);
        return [
          x.case,
          x.concurrency,
          run?.ok ?? '–',
          ms(run?.latency.p50),
          commandList(run?.commands),
          commandList(run?.refusedByCommand),
          x.undoWritesPerClaim === undefined ? '–' : `${f(x.undoWritesPerClaim, 3)} (${x.undoWritesRefused ?? 0})`,
          x.releaseRequestsPerCycle === undefined
            ? '–'
            : `${f(x.releaseRequestsPerCycle, 2)} (${commandList(run?.claims?.cycle?.releaseCommands)}), ${ms(x.releaseP50Ms)} (floor's release ${ms(x.floorReleaseP50Ms)})`,
          run?.misses ?? '–',
          run?.errors ? `${run.errors} (${run.firstError})` : (run?.errors ?? '–'),
        ];
      }),
    ),
  );
  out.push('');
  // Count 1 at one concurrency over the pool sizes (pairs cost more per claim by nature).
  const top = Math.max(...rows.map((x) => x.concurrency));
  const byPool = rows.filter((x) => x.concurrency === top && x.case !== INSTANCE_CASES.pairs).sort((a, b) => a.poolSize - b.poolSize);
  if (byPool.length > 1) {
    out.push(
      `Cost per claim against pool size at c=${byPool[0]!.concurrency}: ` +
        byPool
          .map((x) => `${x.case} (${x.poolSize.toLocaleString('en-US')} servers): ${f(x.requestsPerClaim, 2)} requests, ${f(x.refusedClaimWritesPerClaim, 3)} refused claim writes per claim`)
          .join('; ') +
        '.',
    );
    out.push('');
  }
  out.push('Before (issue figures): one full run on a 2-core machine, default configuration, 1 shard, before the change; quoted as the issue gives them.');
  out.push('');
  out.push(BEFORE_ISSUE);
  out.push('');
  return out;
}
