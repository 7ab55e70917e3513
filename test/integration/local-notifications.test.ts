import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../scripts/local/stack';
import { DEFAULT_LOCAL_WEBHOOK_SECRET } from '../../scripts/local/webhook-bus';
import { startWebhookReceiver, type ReceivedCloudEvent, type WebhookReceiver } from '../../scripts/local/webhook-receiver';
import { v1Message } from '../fixtures/events';

// `npm start` with NOTIFY_WEBHOOK_URLS: a status message on the real local queue, the poller, the
// table's real stream, the notifier, and signed deliveries to two webhooks, one of which never
// answers.
let stack: LocalStack;
let receiver: WebhookReceiver;
let silent: Server;
const received: ReceivedCloudEvent[] = [];
let silentRequests = 0;
let silentUrl: string;

beforeAll(async () => {
  receiver = await startWebhookReceiver({ port: 0, secret: DEFAULT_LOCAL_WEBHOOK_SECRET, onEvent: (event) => void received.push(event) });
  // Takes every request and never answers: a hung subscriber.
  silent = createServer(() => void silentRequests++);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
  stack = await startLocalStack({ port: 0, env: { NOTIFY_WEBHOOK_URLS: `${silentUrl},${receiver.url}` } });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
  silent?.closeAllConnections();
  await new Promise((resolve) => silent?.close(resolve));
});

async function api(method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: { authorization: 'Bearer mm-local-key', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as any };
}

async function eventually<T>(probe: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('notifications in the local stack (npm start)', () => {
  it('delivers signed events of a claim in order, while another webhook hangs', async () => {
    const sentAt = new Date().toISOString();
    await stack.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.stack.statusQueueUrl,
        Entries: ['10.7.0.1:7777', '10.7.0.2:7777'].map((endpoint, i) => ({
          Id: String(i),
          MessageBody: JSON.stringify(v1Message({ endpoint, node: `node-n${i}`, region: 'notify', sentAt, podUid: `pn${i}` })),
        })),
      }),
    );
    await eventually(() => api('GET', '/get-available-gs?region=notify'), (r) => r.body.servers?.length === 2);
    const claimed = await api('POST', '/claim-gs', { claimId: 'notify-1', region: 'notify', count: 2 });
    expect(claimed.status).toBe(200);
    expect((await api('POST', '/claims/notify-1/confirm')).status).toBe(200);
    expect((await api('POST', '/claims/notify-1/release')).status).toBe(200);

    const expected = ['gs.available', 'gs.claimed', 'gs.busy', 'gs.released', 'gs.available'];
    const perServer = (endpoint: string) => received.filter((e) => e.subject === endpoint).map((e) => e.type);
    await eventually(() => received.length, (n) => n >= 10);
    for (const endpoint of ['10.7.0.1:7777', '10.7.0.2:7777']) expect(perServer(endpoint), endpoint).toEqual(expected);
    expect(received.filter((e) => e.type === 'gs.claimed').map((e) => (e.data as { claimId: string; owner: string }).owner)).toEqual(['key:matchmaker', 'key:matchmaker']);

    // The hung webhook holds its first event (retrying it) and every later one behind it, in order;
    // the other was not held up.
    const hung = stack.notifications.bus.stats()[silentUrl]!;
    expect(hung).toMatchObject({ delivered: 0, pending: 10, deadLettered: 0 });
    expect(silentRequests).toBeGreaterThan(0);
  });

  it('sends a record the notifier cannot read to the failure queue, and goes on with the next ones', async () => {
    // Not a record of ours: the notifier fails on it every time (the stream retries, bisects, gives up).
    await stack.deps.ddb.send(new PutCommand({ TableName: stack.deps.config.tables.gameServers, Item: { endpoint: '10.7.9.9:7777', status: 'nonsense' } }));
    await stack.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.stack.statusQueueUrl,
        Entries: [{ Id: '0', MessageBody: JSON.stringify(v1Message({ endpoint: '10.7.0.3:7777', node: 'node-n3', region: 'notify', sentAt: new Date().toISOString(), podUid: 'pn3' })) }],
      }),
    );
    const failures = await eventually(
      async () => (await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.stack.notifierFailureQueueUrl, WaitTimeSeconds: 1 }))).Messages ?? [],
      (messages) => messages.length > 0,
      60_000,
    );
    expect(failures).toHaveLength(1);
    expect(JSON.parse(failures[0]!.Body!)).toMatchObject({ batchSize: 1, keys: [{ endpoint: { S: '10.7.9.9:7777' } }] });
    await eventually(() => received.filter((e) => e.subject === '10.7.0.3:7777').length, (n) => n === 1, 60_000);
    expect(received.filter((e) => e.subject === '10.7.0.3:7777').map((e) => e.type)).toEqual(['gs.available']);
  });

  it('serves the AsyncAPI document of the events', async () => {
    const document = await api('GET', '/events/asyncapi.json');
    expect(document.status).toBe(200);
    expect(document.body.asyncapi).toBe('3.0.0');
    expect(Object.keys(document.body.components.messages)).toContain('claim.lost');
  });
});
