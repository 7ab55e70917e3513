// `npm start`: the whole system on this machine. Options: --port N (or PORT), --data-dir DIR
// (or DATA_DIR; keeps DynamoDB data across restarts), LOG_LEVEL (default WARN); every variable of
// the configuration table in README.md applies. With DYNAMODB_ENDPOINT and/or SQS_ENDPOINT set,
// that service is used as it is (a shared DynamoDB Local, a fault proxy) and not started; its
// tables and queues are created only if missing, and Ctrl-C leaves it running.
import './local/env-defaults';
import { parseArgs } from 'node:util';
import { DEFAULT_LOCAL_API_KEYS, startLocalStack } from './local/stack';

// Hand-sent events (npm run send-event) don't heartbeat: keep them fresh for 10 minutes locally.
process.env.HEARTBEAT_TIMEOUT_SECONDS ??= '600';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'data-dir': { type: 'string' },
    'dynamodb-port': { type: 'string' },
    'sqs-port': { type: 'string' },
  },
});

const started = Date.now();
const dataDir = values['data-dir'] ?? process.env.DATA_DIR;
const stack = await startLocalStack({
  port: Number(values.port ?? process.env.PORT ?? 3000),
  dynamodbPort: Number(values['dynamodb-port'] ?? process.env.DYNAMODB_PORT ?? 8000),
  sqsPort: Number(values['sqs-port'] ?? process.env.SQS_PORT ?? 9324),
  ...(dataDir ? { dataDir } : {}),
  logLevel: process.env.LOG_LEVEL ?? 'WARN',
  // Every webhook delivery attempt is one log line.
  notifyLogLevel: process.env.NOTIFY_LOG_LEVEL ?? 'INFO',
}).catch((error: Error) => {
  const given = ['DYNAMODB_ENDPOINT', 'SQS_ENDPOINT'].filter((name) => process.env[name]);
  const hint = given.length ? `\n(${given.join(' and ')} set: unset to start ${given.length > 1 ? 'them' : 'it'} here instead)` : '';
  process.stderr.write(`\nCould not start the local stack: ${error.message}${hint}\n`);
  process.exit(1);
});

const keys = process.env.API_KEYS ? '(from API_KEYS)' : DEFAULT_LOCAL_API_KEYS;
const { services } = stack;
const tables = stack.stack.createdTables.length ? 'tables created' : 'existing tables kept';
const dynamodb = services.external.dynamodb
  ? `DynamoDB        ${services.dynamodbEndpoint}   (external: DYNAMODB_ENDPOINT; ${tables})`
  : `DynamoDB Local  ${services.dynamodbEndpoint}   (data: ${dataDir ? dataDir : 'in memory'})`;
const sqs = services.external.sqs
  ? `SQS             ${services.sqsEndpoint}   (external: SQS_ENDPOINT)`
  : `local SQS       ${services.sqsEndpoint}`;
const external = services.external.dynamodb || services.external.sqs;
const { webhooks: hooks } = stack.notifications;
const webhooks = hooks.length
  ? `signed webhooks to ${hooks.join(', ')} (secret: ${process.env.NOTIFY_WEBHOOK_SECRET ? 'NOTIFY_WEBHOOK_SECRET' : 'the local default'})`
  : 'no webhooks (set NOTIFY_WEBHOOK_URLS=http://127.0.0.1:4000/ and run: npm run listen)';
process.stdout.write(`
gs-inventory local stack ready in ${Date.now() - started} ms
  API             ${stack.apiUrl}        (try: curl ${stack.apiUrl}/health)
  status queue    ${stack.stack.statusQueueUrl}
  dead letters    ${stack.stack.deadLetterQueueUrl}
  ${dynamodb}
  ${sqs}
  API keys        ${keys}
  notifications   ${webhooks}
  stale sweep     every ${Number(process.env.STALE_SWEEP_INTERVAL_MS ?? 60_000) / 1000} s (held servers whose heartbeats stopped -> gs.stale, claim.lost)
  event schemas   ${stack.apiUrl}/events/asyncapi.json
  dashboard       ${stack.apiUrl}/dashboard${keys.includes('ro-local-key') ? '#key=ro-local-key' : '   (asks for a key)'}

Send a test event (registers a game server):
  npm run send-event -- --endpoint 10.0.0.1:7777 --node node-a --event ready

Ctrl-C stops ${external ? 'what this started (external services keep running)' : 'everything'}.
`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping...\n');
    await stack.stop();
    process.exit(0);
  });
}
