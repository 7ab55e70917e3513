import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../scripts/local/stack';
import { LEGACY_GS_BODY, LEGACY_LB_BODY, v1Message } from '../fixtures/events';

let stack: LocalStack;
const MATCHMAKER = 'mm-local-key';
const LB = 'lb-local-key';

beforeAll(async () => {
  stack = await startLocalStack({ port: 0 });
}, 60_000);
afterAll(async () => stack?.stop());

async function api(method: string, path: string, options: { key?: string; body?: unknown } = {}) {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${options.key ?? MATCHMAKER}`,
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as any, headers: response.headers };
}

async function send(bodies: string[]) {
  for (let i = 0; i < bodies.length; i += 10) {
    await stack.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.stack.statusQueueUrl,
        Entries: bodies.slice(i, i + 10).map((MessageBody, j) => ({ Id: String(i + j), MessageBody })),
      }),
    );
  }
}

async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the local stack end to end (npm start\'s server)', () => {
  it('registers servers from real SQS messages (legacy and v1), lists, claims a pair, confirms and releases it', async () => {
    const now = new Date().toISOString();
    await send([
      LEGACY_GS_BODY,
      LEGACY_GS_BODY.replace('192.168.1.10', '192.168.1.11'),
      JSON.stringify(v1Message({ endpoint: '10.0.0.21:7777', node: 'node-x', group: 'mockup-server-grp1', sentAt: now, podUid: 'p21' })),
      JSON.stringify(v1Message({ endpoint: '10.0.0.22:7777', node: 'node-x', group: 'mockup-server-grp1', sentAt: now, podUid: 'p22' })),
      LEGACY_LB_BODY,
    ]);
    const listing = await eventually(
      () => api('GET', '/get-available-gs?region=us-west&group=mockup-server-grp1&limit=10'),
      (r) => r.body.servers?.length === 4,
    );
    expect(listing.status).toBe(200);
    expect(listing.body.servers.map((s: { endpoint: string }) => s.endpoint).sort()).toEqual(['10.0.0.21:7777', '10.0.0.22:7777', '192.168.1.10:40001', '192.168.1.11:40001']);

    const lbs = await eventually(() => api('GET', '/get-available-lb?region=us-west', { key: LB }), (r) => r.body.loadBalancers?.length === 1);
    expect(lbs.body.loadBalancers[0]).toMatchObject({ endpoint: 'ec2-54-9-9-9.us-west-2.compute.amazonaws.com:41000', targets: ['10.0.0.1:40001', '10.0.0.2:40002'] });

    const claimed = await api('POST', '/claim-gs', { key: LB, body: { claimId: 'lb-pod-1', count: 2, region: 'us-west', group: 'mockup-server-grp1' } });
    expect(claimed.status).toBe(200);
    const [a, b] = claimed.body.servers;
    expect(a.node).not.toBe(b.node);
    expect([a.status, b.status]).toEqual(['claimed', 'claimed']);

    const confirmed = await api('POST', '/claims/lb-pod-1/confirm', { key: LB });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.servers.map((s: { status: string }) => s.status)).toEqual(['busy', 'busy']);
    // The claim is the load balancer's: a reader cannot see it, the local admin (ops) can.
    expect((await api('GET', '/claims/lb-pod-1', { key: 'ro-local-key' })).status).toBe(404);
    expect((await api('GET', '/claims/lb-pod-1', { key: 'admin-local-key' })).body).toMatchObject({ status: 'confirmed', owner: 'key:load-balancer' });
    expect((await api('GET', `/gs/${encodeURIComponent(a.endpoint)}`)).body.status).toBe('busy');

    const released = await api('POST', '/claims/lb-pod-1/release', { key: LB });
    expect(released.status).toBe(200);
    expect([...released.body.released].sort()).toEqual([a.endpoint, b.endpoint].sort());
    const after = await api('GET', '/get-available-gs?region=us-west&group=mockup-server-grp1&limit=10');
    expect(after.body.servers).toHaveLength(4);

    const terminating = LEGACY_GS_BODY.replace('"init"', '"terminating"');
    await send([terminating]);
    const gone = await eventually(() => api('GET', '/gs/192.168.1.10%3A40001'), (r) => r.body.status === 'terminated');
    expect(gone.body.status).toBe('terminated');
  });

  it('64 parallel HTTP claimers over 10 servers: exactly 10 win, no endpoint twice', async () => {
    const now = new Date().toISOString();
    await send(Array.from({ length: 10 }, (_, i) => JSON.stringify(v1Message({ endpoint: `10.5.0.${i + 1}:7777`, group: 'http-race', node: `n${i}`, podUid: `race-${i}`, sentAt: now }))));
    await eventually(() => api('GET', '/get-available-gs?region=us-west&group=http-race&limit=100'), (r) => r.body.servers?.length === 10);
    const responses = await Promise.all(
      Array.from({ length: 64 }, (_, i) => api('POST', '/claim-gs', { body: { claimId: `http-${i}`, region: 'us-west', group: 'http-race' } })),
    );
    const winners = responses.filter((r) => r.status === 200);
    expect(winners).toHaveLength(10);
    expect(responses.filter((r) => r.status === 409 && r.body.error.code === 'gs.none_available')).toHaveLength(54);
    const endpoints = winners.map((w) => w.body.servers[0].endpoint);
    expect(new Set(endpoints).size).toBe(10);
    for (const endpoint of endpoints) {
      expect((await api('GET', `/gs/${endpoint}`)).body.status).toBe('claimed');
    }
  });
});
