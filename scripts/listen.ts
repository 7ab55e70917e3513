// Receives the local stack's notifications (next to `npm start`) and prints each verified event
// as one line: time, type, subject, seq=, claim=, id.
//   npm run listen -- [--port 4000] [--secret whsec_...]
// The port defaults to LISTEN_PORT or 4000, the secret to NOTIFY_WEBHOOK_SECRET or the documented
// local default (DEFAULT_LOCAL_WEBHOOK_SECRET), the one the local stack signs with. Listens on
// 127.0.0.1 only. Refused requests (bad signature, stale timestamp, not a CloudEvent) go to stderr.
import { parseArgs } from 'node:util';
import { DEFAULT_LOCAL_WEBHOOK_SECRET } from './local/webhook-bus';
import { formatEventLine, startWebhookReceiver } from './local/webhook-receiver';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    secret: { type: 'string' },
  },
});

const port = Number(values.port ?? process.env.LISTEN_PORT ?? 4000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`Not a port: ${values.port ?? process.env.LISTEN_PORT}\n`);
  process.exit(2);
}
const secret = values.secret ?? process.env.NOTIFY_WEBHOOK_SECRET ?? DEFAULT_LOCAL_WEBHOOK_SECRET;
const secretSource = values.secret ? '--secret' : process.env.NOTIFY_WEBHOOK_SECRET ? 'NOTIFY_WEBHOOK_SECRET' : 'the local default';

const receiver = await startWebhookReceiver({
  port,
  secret,
  onEvent: (event) => {
    process.stdout.write(`${formatEventLine(event)}\n`);
  },
  onRefused: (refusal) => {
    process.stderr.write(`refused (${refusal.status} ${refusal.code}): ${refusal.message}\n`);
  },
}).catch((error: Error) => {
  process.stderr.write(`Could not listen on 127.0.0.1:${port}: ${error.message}\n`);
  process.exit(1);
});

process.stderr.write(`Listening for notifications on ${receiver.url} (secret: ${secretSource}). Ctrl-C stops.\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void receiver.close().then(() => process.exit(0));
  });
}
