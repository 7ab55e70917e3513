// Sends one status event to the local status queue, as a pod would.
//   npm run send-event -- --endpoint 10.0.0.1:7777 --node node-a --event ready [--region us-west]
//     [--group grp1] [--pod-uid ID] [--seq N] [--label k=v ...] [--players N]
//   npm run send-event -- --raw '<message body>'            (e.g. a legacy message)
// QUEUE_URL and SQS_ENDPOINT default to the ones `npm start` prints.
import './local/env-defaults';
import { parseArgs } from 'node:util';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS } from '../lib/local-credentials';

const { values } = parseArgs({
  options: {
    endpoint: { type: 'string', default: '10.0.0.1:7777' },
    node: { type: 'string', default: 'node-a' },
    event: { type: 'string', default: 'ready' },
    kind: { type: 'string', default: 'game-server' },
    region: { type: 'string', default: 'us-west' },
    group: { type: 'string' },
    'pod-uid': { type: 'string' },
    seq: { type: 'string' },
    players: { type: 'string' },
    label: { type: 'string', multiple: true },
    target: { type: 'string', multiple: true },
    raw: { type: 'string' },
  },
});

const sqsEndpoint = process.env.SQS_ENDPOINT ?? 'http://127.0.0.1:9324';
const queueUrl = process.env.QUEUE_URL ?? `${sqsEndpoint}/000000000000/game-server-status-events-local`;
const body =
  values.raw ??
  JSON.stringify({
    v: 1,
    kind: values.kind,
    event: values.event,
    endpoint: values.endpoint,
    region: values.region,
    node: values.node,
    podUid: values['pod-uid'] ?? `pod-${values.endpoint}`,
    seq: Number(values.seq ?? Date.now()),
    sentAt: new Date().toISOString(),
    ...(values.group ? { group: values.group } : {}),
    ...(values.players ? { players: Number(values.players) } : {}),
    ...(values.label ? { labels: Object.fromEntries(values.label.map((l) => l.split('=', 2))) } : {}),
    ...(values.target ? { targets: values.target } : {}),
  });

const sqs = new SQSClient({ endpoint: sqsEndpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
const sent = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
process.stdout.write(`sent ${sent.MessageId}: ${body}\n`);
