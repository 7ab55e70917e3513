// `npm run simulate`: a fleet on this machine for demos. Starts its own local stack (or uses a
// running `npm start` with --api-url/--queue-url/--sqs-endpoint), M game servers on K fake nodes
// reporting through the agent module, matchmakers claiming and releasing, and Spot interruptions
// draining random nodes; a live one-line progress display, a summary at the end.
//   npm run simulate -- --servers 60 --nodes 10 --matchmakers 6 --duration 45 --interruptions 3
import './local/env-defaults';
import { parseArgs } from 'node:util';
import { freePort } from './local/services';
import { startLocalStack, type LocalStack } from './local/stack';
import { runSimulation } from './simulation/fleet';

const { values } = parseArgs({
  options: {
    servers: { type: 'string', default: '40' },
    nodes: { type: 'string', default: '8' },
    matchmakers: { type: 'string', default: '4' },
    duration: { type: 'string', default: '30' },
    interruptions: { type: 'string', default: '2' },
    'reclaim-seconds': { type: 'string', default: '10' },
    'heartbeat-seconds': { type: 'string', default: '5' },
    'api-url': { type: 'string' },
    'queue-url': { type: 'string' },
    'sqs-endpoint': { type: 'string' },
    help: { type: 'boolean' },
  },
});

if (values.help) {
  process.stdout.write(`Usage: npm run simulate -- [--servers M] [--nodes K] [--matchmakers N] [--duration S]
         [--interruptions I] [--reclaim-seconds S] [--heartbeat-seconds S]
         [--api-url URL --queue-url URL --sqs-endpoint URL]   (use a running npm start)\n`);
  process.exit(0);
}

const number = (name: keyof typeof values, min: number, max: number) => {
  const value = Number(values[name]);
  if (!Number.isFinite(value) || value < min || value > max) {
    process.stderr.write(`simulate: --${name} must be a number from ${min} to ${max}\n`);
    process.exit(2);
  }
  return value;
};
const options = {
  servers: number('servers', 1, 2000),
  nodes: number('nodes', 2, 500),
  matchmakers: number('matchmakers', 0, 100),
  durationMs: number('duration', 1, 3600) * 1000,
  interruptions: number('interruptions', 0, 100),
  reclaimMs: number('reclaim-seconds', 0.5, 600) * 1000,
  heartbeatMs: number('heartbeat-seconds', 0.1, 60) * 1000,
};

let stack: LocalStack | undefined;
let target: { apiUrl: string; queueUrl: string; sqsEndpoint?: string };
if (values['api-url'] && values['queue-url']) {
  target = { apiUrl: values['api-url'], queueUrl: values['queue-url'], ...(values['sqs-endpoint'] ? { sqsEndpoint: values['sqs-endpoint'] } : {}) };
} else {
  process.stdout.write('starting a local stack...\n');
  stack = await startLocalStack({
    port: 0,
    dynamodbPort: await freePort(),
    sqsPort: await freePort(),
    stage: 'sim',
    pollerConcurrency: 4,
    // Servers must heartbeat well within the timeout; a short one shows stale servers quickly.
    env: { HEARTBEAT_TIMEOUT_SECONDS: String(Math.max(5, Math.ceil((options.heartbeatMs * 3) / 1000))) },
  });
  target = { apiUrl: stack.apiUrl, queueUrl: stack.stack.statusQueueUrl, sqsEndpoint: stack.services.sqsEndpoint };
}

const tty = process.stdout.isTTY;
let lastPrinted = 0;
const summary = await runSimulation({
  ...target,
  ...options,
  ...(stack ? { deps: stack.deps } : {}),
  onProgress: (line) => {
    if (tty) process.stdout.write(`\r\x1b[2K${line.slice(0, (process.stdout.columns ?? 200) - 1)}`);
    else if (Date.now() - lastPrinted >= 5000) {
      lastPrinted = Date.now();
      process.stdout.write(`${line}\n`);
    }
  },
}).finally(() => stack?.stop());

const status = Object.entries(summary.statuses)
  .map(([name, count]) => `${name} ${count}`)
  .join(', ');
process.stdout.write(`${tty ? '\n' : ''}
simulation finished in ${(summary.durationMs / 1000).toFixed(1)} s
  servers      ${summary.serversStarted} started, ${summary.serversTerminated} ended by interruptions; now ${status || 'none'}
  nodes        ${summary.interruptedNodes.length} interrupted${summary.interruptedNodes.length ? ` (${summary.interruptedNodes.join(', ')})` : ''}
  matchmaking  ${summary.claims.ok} claims (${summary.claims.confirmed} confirmed), ${summary.claims.released} released, ${summary.claims.none} found nothing, ${summary.claims.errors} errors
  events       ${summary.eventsSent} sent, ${summary.eventsFailed} failed
  drain check  ${summary.offeredWhileDraining === 0 ? 'ok: every interrupted node left the pool before its instance went away' : `${summary.offeredWhileDraining} servers of interrupted nodes still offered when their instance went away`}${summary.drainLatenciesMs.length ? ` (notice -> out of the pool: ${summary.drainLatenciesMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')})` : ''}
`);
process.exit(summary.offeredWhileDraining === 0 && summary.eventsFailed === 0 ? 0 : 1);
