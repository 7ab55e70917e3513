import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ITEM_BYTES } from './capacity';
import { costPerMillion, heartbeatMonth } from './cost';
import { fleetEndpoints, shardSpread } from './fleet';
import { indexWriteLoad, pollerLoad } from './load';
import type { SimParams } from './params';
import { renderReport, type ShardSimResults } from './report';
import { simulate, STRATEGIES, type SimResult, type Strategy } from './simulate';

const OPTIONS = {
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
  help: { type: 'boolean', short: 'h' },
} as const;

const USAGE = `Usage: npm run shard-sim [-- options]
Simulates the claim path at AWS scale (no DynamoDB involved) and prints a Markdown report.
${Object.entries(OPTIONS)
  .filter(([name]) => name !== 'help')
  .map(([name, option]) => `  --${name}${'default' in option ? ` (default ${option.default})` : ' FILE (also write the results as JSON)'}`)
  .join('\n')}
`;

/** Parses the command line; undefined when only the usage was asked for. */
export function parseSimParams(argv: string[]): SimParams | undefined {
  const { values } = parseArgs({ args: argv, options: OPTIONS });
  if (values.help) return undefined;
  return {
    servers: Number(values.servers),
    rate: Number(values.rate),
    simMs: Number(values.seconds) * 1000,
    warmupMs: 1000,
    sessionMs: Number(values['session-seconds']) * 1000,
    heartbeatS: Number(values['heartbeat-seconds']),
    queryMs: Number(values['query-ms']),
    writeMs: Number(values['write-ms']),
    lagMs: Number(values['lag-ms']),
    shards: values.shards.split(',').map(Number),
    seed: Number(values.seed),
    ...(values.json ? { json: values.json } : {}),
  };
}

/** Runs every strategy x shard count, then the load and cost models over the results. */
function runAll(p: SimParams): ShardSimResults {
  const endpoints = fleetEndpoints(p.servers);
  const spreads = p.shards.map((s) => shardSpread(endpoints, s));
  const sims: SimResult[] = [];
  for (const shards of p.shards) {
    for (const strategy of STRATEGIES) {
      process.stderr.write(`simulating ${strategy} with ${shards} shard(s)...\n`);
      sims.push(simulate(p, strategy, shards, endpoints, p.seed + shards));
    }
  }
  const loads = [indexWriteLoad(p, 'current', 1), indexWriteLoad(p, 'sparse', 0.55)];
  // The runs sections 4 and 5 quote: 64 shards (the most lib/config.ts allows), else the last run.
  const at64 = (strategy: Strategy) => sims.find((s) => s.strategy === strategy && s.shards === 64) ?? sims.filter((s) => s.strategy === strategy).pop()!;
  const best = at64('proposed');
  const positions = at64('positions');
  const heartbeatCosts = [
    { layout: 'current', ...heartbeatMonth(p, p.heartbeatS, 1) },
    { layout: 'sparse', ...heartbeatMonth(p, p.heartbeatS, 0.55) },
    { layout: 'current', ...heartbeatMonth(p, p.heartbeatS * 3, 1) },
    { layout: 'sparse', ...heartbeatMonth(p, p.heartbeatS * 3, 0.55) },
  ];
  return { spreads, loads, sims, best, positions, costs: { current: costPerMillion(at64('current')), proposed: costPerMillion(best), positions: costPerMillion(positions) }, heartbeatCosts, poller: pollerLoad(p) };
}

/** `npm run shard-sim`: the report on stdout, progress on stderr, the results as JSON with --json. */
export function runShardSim(argv: string[]): void {
  const p = parseSimParams(argv);
  if (!p) {
    process.stdout.write(USAGE);
    return;
  }
  const started = Date.now();
  const results = runAll(p);
  process.stdout.write(renderReport(p, results));
  process.stderr.write(`simulation took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  if (p.json) {
    const { spreads, loads, sims, costs, heartbeatCosts } = results;
    writeFileSync(
      p.json,
      `${JSON.stringify({ parameters: { servers: p.servers, rate: p.rate, sessionMs: p.sessionMs, heartbeatSeconds: p.heartbeatS, queryMs: p.queryMs, writeMs: p.writeMs, lagMs: p.lagMs, itemBytes: ITEM_BYTES }, spreads, loads, sims, costs, heartbeatCosts }, null, 1)}\n`,
    );
  }
}
