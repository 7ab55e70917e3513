// Local SQS-compatible server (local-aws-sqs), run as its own process so it can be stopped by PID.
// Usage: node scripts/local/sqs-server.mjs <port>
import { createSqsServer } from 'local-aws-sqs';

const port = Number(process.argv[2] ?? 9324);
await createSqsServer({
  port,
  hostname: '127.0.0.1',
  region: 'us-east-1',
  accountId: '000000000000',
  emulateQueueCreationLifecycle: false,
});
process.stdout.write(`sqs ready on ${port}\n`);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
