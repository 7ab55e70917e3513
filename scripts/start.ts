// `npm start`: the whole system on this machine. Options: --port N (or PORT), --data-dir DIR
// (or DATA_DIR; keeps DynamoDB data across restarts), LOG_LEVEL (default WARN); every variable of
// the configuration table in README.md applies.
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
}).catch((error: Error) => {
  process.stderr.write(`\nCould not start the local stack: ${error.message}\n`);
  process.exit(1);
});

const keys = process.env.API_KEYS ? '(from API_KEYS)' : DEFAULT_LOCAL_API_KEYS;
process.stdout.write(`
gs-inventory local stack ready in ${Date.now() - started} ms
  API             ${stack.apiUrl}        (try: curl ${stack.apiUrl}/health)
  status queue    ${stack.stack.statusQueueUrl}
  dead letters    ${stack.stack.deadLetterQueueUrl}
  DynamoDB Local  ${stack.services.dynamodbEndpoint}   (data: ${dataDir ? dataDir : 'in memory'})
  API keys        ${keys}

Send a test event (registers a game server):
  npm run send-event -- --endpoint 10.0.0.1:7777 --node node-a --event ready

Ctrl-C stops everything.
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
