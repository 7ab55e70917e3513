import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler as makeClaim } from '../../functions/claim-gs';
import { makeHandler as makeConfirm } from '../../functions/confirm-claim';
import { makeHandler as makeNotifier } from '../../functions/notifier';
import { makeHandler as makeRelease } from '../../functions/release-claim';
import { makeHandler as makeSetBusy } from '../../functions/set-gs-busy';
import { makeHandler as makeSetAvailable } from '../../functions/set-gs-available';
import { getGameServers } from '../../lib/game-servers/records';
import { applyLifecycleEvent } from '../../lib/ingestion/apply-lifecycle-event';
import { applyNodeEvent } from '../../lib/ingestion/apply-node-event';
import { sweepStaleServers } from '../../lib/notifications/stale-sweep';
import type { EventPublisher, PublishedEvent } from '../../lib/notifications/publisher';
import { cloudEventSchema, type EventType, type NotificationEvent } from '../../schemas/events';
import { startStreamEventSource, type StreamEventSource } from '../../scripts/local/stream-event-source';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../scripts/local/services';
import { gsEvent, lbEvent } from '../fixtures/events';
import { API_KEYS_ENV, KEYS, invoke } from '../fixtures/http';
import { nodeEvent } from '../fixtures/node-sequences';
import { registerFleet } from '../fixtures/servers';
import { createTestStack, manualClock, type TestStack } from '../setup/stack';

const clock = manualClock(Date.parse('2026-11-26T09:00:00Z'));
let t: TestStack;
let streams: DynamoDBStreamsClient;
const sources: StreamEventSource[] = [];

/** The bus as the notifier sees it: it can refuse the next `refuse` publishes (a bus outage). */
const bus = {
  received: [] as NotificationEvent[],
  refused: [] as PublishedEvent[],
  refuse: 0,
};
const publisher: EventPublisher = {
  async publish(events) {
    if (bus.refuse > 0) {
      bus.refuse--;
      bus.refused.push(...events);
      throw new Error('bus unavailable');
    }
    bus.received.push(...(events as NotificationEvent[]));
  },
};

beforeAll(async () => {
  t = await createTestStack({ clock, env: { API_KEYS: API_KEYS_ENV, HEARTBEAT_TIMEOUT_SECONDS: '30' } });
  streams = new DynamoDBStreamsClient({ endpoint: t.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const notifier = makeNotifier(t.deps, publisher);
  for (const table of [t.config.tables.gameServers, t.config.tables.loadBalancers]) {
    sources.push(startStreamEventSource({ streams, streamArn: t.stack.streamArns[table]!, handler: notifier, functionName: 'notifier', retryDelayMs: () => 20 }));
  }
});
afterAll(async () => {
  await Promise.all(sources.map((source) => source.stop()));
  streams?.destroy();
  await t?.destroy();
});

/** Every event the bus accepted so far, once the streams have delivered every change made before. */
async function settled(): Promise<NotificationEvent[]> {
  await Promise.all(sources.map((source) => source.drain()));
  return bus.received;
}
const of = (events: NotificationEvent[], subject: string) => events.filter((e) => e.subject === subject);
const types = (events: NotificationEvent[]) => events.map((e) => e.type);

const post = (handler: Parameters<typeof invoke>[0], route: string, body?: unknown, pathParameters?: Record<string, string>) =>
  invoke(handler, { method: 'POST', route, ...(body !== undefined ? { body } : {}), ...(pathParameters ? { pathParameters } : {}) });
const claim = (body: Record<string, unknown>) => post(makeClaim(t.deps), '/claim-gs', body);
const confirm = (claimId: string) => post(makeConfirm(t.deps), '/claims/{claimId}/confirm', undefined, { claimId });
const release = (claimId: string) => post(makeRelease(t.deps), '/claims/{claimId}/release', undefined, { claimId });

describe('notifications from the real local stream', () => {
  it("tells a server's whole life, each transition exactly once and in order", async () => {
    const [endpoint] = await registerFleet(t.deps, { count: 1, region: 'life', subnet: 31, sentAt: clock() });
    const node = (await getGameServers(t.deps, [endpoint!])).get(endpoint!)!.node;
    const pod = `pod-${endpoint}`;
    const heartbeat = (seq: number) => applyLifecycleEvent(t.deps, gsEvent({ endpoint: endpoint!, podUid: pod, node, region: 'life', event: 'heartbeat', seq, sentAt: clock() }));

    expect((await claim({ claimId: 'life-1', region: 'life' })).status).toBe(200);
    clock.advance(1000);
    await heartbeat(2);
    expect((await confirm('life-1')).status).toBe(200);
    expect((await release('life-1')).status).toBe(200);
    clock.advance(1000);
    await applyNodeEvent(t.deps, nodeEvent({ node, event: 'draining', reason: 'spot-interruption', sentAt: clock(), seq: 1 }));
    clock.advance(1000);
    await applyNodeEvent(t.deps, nodeEvent({ node, event: 'ready', sentAt: clock(), seq: 2 }));
    expect((await claim({ claimId: 'life-2', region: 'life' })).status).toBe(200);
    expect((await confirm('life-2')).status).toBe(200);
    clock.advance(1000);
    await applyLifecycleEvent(t.deps, gsEvent({ endpoint: endpoint!, podUid: pod, node, region: 'life', event: 'terminating', seq: 3, sentAt: clock() }));

    const events = of(await settled(), endpoint!);
    expect(types(events)).toEqual([
      'gs.available',
      'gs.claimed',
      'gs.busy',
      'gs.released',
      'gs.available',
      'gs.draining',
      'gs.available',
      'gs.claimed',
      'gs.busy',
      'gs.terminated',
      'claim.lost',
    ]);
    expect(events.map((e) => (e.data as { reason?: string }).reason)).toEqual([
      'registered', undefined, undefined, undefined, 'released', 'spot-interruption', 'undrained', undefined, undefined, undefined, undefined,
    ]);
    expect(events.map((e) => (e.data as { claimId?: string }).claimId)).toEqual([
      undefined, 'life-1', 'life-1', 'life-1', 'life-1', undefined, undefined, 'life-2', 'life-2', 'life-2', 'life-2',
    ]);
    expect(events.at(-1)!.data).toMatchObject({ lost: 'terminated', owner: 'key:matchmaker', endpoint });
    for (const event of events) expect(cloudEventSchema(event.type as EventType).safeParse(event).success).toBe(true);
    // Sequence numbers never go back; events of one write share it.
    const sequences = events.map((e) => e.data.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it('sends nothing for rejected requests', async () => {
    const [a, b] = await registerFleet(t.deps, { count: 2, region: 'rejects', subnet: 32, sentAt: clock() });
    expect((await claim({ claimId: 'rej-1', region: 'rejects', count: 2 })).status).toBe(200);
    const before = (await settled()).length;

    expect((await claim({ claimId: 'rej-2', region: 'rejects' })).status).toBe(409);
    expect((await claim({ claimId: 'rej-1', region: 'elsewhere', count: 3 })).status).toBe(409);
    expect((await post(makeSetBusy(t.deps), '/set-gs-busy/{endpoint}', { claimId: 'rej-3' }, { endpoint: a! })).status).toBe(409);
    expect((await post(makeSetAvailable(t.deps), '/set-gs-available/{endpoint}', { claimId: 'not-the-holder' }, { endpoint: b! })).body.released).toBe(false);
    expect((await post(makeClaim(t.deps), '/claim-gs', { claimId: 'bad id with spaces' })).status).toBe(400);
    expect((await invoke(makeRelease(t.deps), { method: 'POST', route: '/claims/{claimId}/release', pathParameters: { claimId: 'rej-1' }, key: KEYS.loadBalancer })).body.error.code).toBe('claim.not_found');

    expect((await settled()).length).toBe(before);
    expect((await release('rej-1')).status).toBe(200);
  });

  it('tells the holder when the stale sweep finds its server silent', async () => {
    const [endpoint] = await registerFleet(t.deps, { count: 1, region: 'silent', subnet: 33, sentAt: clock() });
    expect((await claim({ claimId: 'silent-1', region: 'silent', leaseSeconds: 600 })).status).toBe(200);
    clock.advance(31_000);
    expect(await sweepStaleServers(t.deps)).toMatchObject({ marked: 1 });
    const events = of(await settled(), endpoint!);
    expect(types(events)).toEqual(['gs.available', 'gs.claimed', 'gs.stale', 'claim.lost']);
    expect(events.at(-1)!.data).toMatchObject({ claimId: 'silent-1', lost: 'stale', owner: 'key:matchmaker' });
  });

  it('tells load balancers registering, changing upstreams and draining', async () => {
    const endpoint = 'lb-n.example.com:41000';
    await applyLifecycleEvent(t.deps, lbEvent({ endpoint, podUid: 'lb-n', sentAt: clock(), seq: 1 }));
    await applyLifecycleEvent(t.deps, lbEvent({ endpoint, podUid: 'lb-n', sentAt: clock() + 1, seq: 2, event: 'heartbeat' }));
    await applyLifecycleEvent(t.deps, lbEvent({ endpoint, podUid: 'lb-n', sentAt: clock() + 2, seq: 3, event: 'heartbeat', targets: ['10.0.0.1:7777', '10.0.0.9:7777'] }));
    await applyLifecycleEvent(t.deps, lbEvent({ endpoint, podUid: 'lb-n', sentAt: clock() + 3, seq: 4, event: 'draining' }));
    expect(types(of(await settled(), endpoint))).toEqual(['lb.active', 'lb.targets', 'lb.draining']);
  });

  it('redelivers a change the bus refused, with the same ids, and nothing out of order', async () => {
    const [endpoint] = await registerFleet(t.deps, { count: 1, region: 'outage', subnet: 34, sentAt: clock() });
    await settled();
    bus.refuse = 3;
    bus.refused.length = 0;
    expect((await claim({ claimId: 'outage-1', region: 'outage' })).status).toBe(200);
    expect((await confirm('outage-1')).status).toBe(200);
    const events = of(await settled(), endpoint!);
    expect(types(events)).toEqual(['gs.available', 'gs.claimed', 'gs.busy']);
    // The refused attempts were of the claim's change: the same event each time, and the one delivered.
    expect(bus.refused.map((e) => e.id)).toEqual([events[1]!.id, events[1]!.id, events[1]!.id]);
  });

  it('keeps every server in order under concurrent claims, releases and drains', async () => {
    const endpoints = await registerFleet(t.deps, { count: 12, nodes: 4, region: 'busy-day', subnet: 35, sentAt: clock() });
    const records = await getGameServers(t.deps, endpoints);
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const id = `day-${i}`;
        const claimed = await claim({ claimId: id, region: 'busy-day', count: 1 });
        if (claimed.status !== 200) return;
        if (i % 2 === 0) await confirm(id);
        if (i % 3 === 0) await release(id);
      }),
    );
    await Promise.all([
      applyNodeEvent(t.deps, nodeEvent({ node: records.get(endpoints[0]!)!.node, event: 'draining', reason: 'rebalance-recommendation', sentAt: clock(), seq: 1 })),
      ...Array.from({ length: 4 }, (_, i) => claim({ claimId: `day-late-${i}`, region: 'busy-day' }).then((r) => (r.status === 200 ? release(`day-late-${i}`) : undefined))),
    ]);
    const events = await settled();
    const final = await getGameServers(t.deps, endpoints);
    for (const endpoint of endpoints) {
      const mine = of(events, endpoint);
      const sequences = mine.map((e) => e.data.sequence);
      expect(sequences, endpoint).toEqual([...sequences].sort((a, b) => a - b));
      // The last event tells the state the server is in now.
      const last = mine.at(-1)!;
      const status = final.get(endpoint)!.status;
      const expected: Record<string, EventType[]> = { available: ['gs.available'], claimed: ['gs.claimed'], busy: ['gs.busy'], draining: ['gs.draining', 'claim.lost'] };
      expect(expected[status], `${endpoint} is ${status}, last event ${last.type}`).toContain(last.type);
      expect((last.data as { server: { status: string } }).server.status).toBe(status);
    }
  });
});

/**
 * One server per row: `setup` brings it to the state before the transition, `act` makes the
 * transition through the real code path (handler, poller applier, stale sweep); exactly the events
 * `expect` names (type and reason or lost) must come out of the real stream for it, nothing else.
 */
interface TransitionRow {
  name: string;
  setup?: (s: RowServer) => Promise<unknown>;
  act: (s: RowServer) => Promise<unknown>;
  expect: string[];
}
interface RowServer {
  endpoint: string;
  node: string;
  region: string;
  pod: string;
  seq: () => number;
}

const heartbeatOf = (s: RowServer) => applyLifecycleEvent(t.deps, gsEvent({ endpoint: s.endpoint, podUid: s.pod, node: s.node, region: s.region, event: 'heartbeat', seq: s.seq(), sentAt: clock() }));
const podEvent = (s: RowServer, event: 'draining' | 'terminating') => applyLifecycleEvent(t.deps, gsEvent({ endpoint: s.endpoint, podUid: s.pod, node: s.node, region: s.region, event, seq: s.seq(), sentAt: clock() }));
const nodeDrain = (s: RowServer, event: 'draining' | 'ready', seq: number, reason?: 'spot-interruption' | 'rebalance-recommendation' | 'manual') =>
  applyNodeEvent(t.deps, nodeEvent({ node: s.node, event, sentAt: clock(), seq, ...(reason ? { reason } : {}) }));
const claimIt = async (s: RowServer, extra: Record<string, unknown> = {}) => expect((await claim({ claimId: `c-${s.region}`, region: s.region, ...extra })).status).toBe(200);

const TRANSITIONS: TransitionRow[] = [
  { name: 'a heartbeat of an available server', act: heartbeatOf, expect: [] },
  { name: 'a claim', act: (s) => claimIt(s), expect: ['gs.claimed'] },
  { name: 'a confirm', setup: (s) => claimIt(s), act: async (s) => void expect((await confirm(`c-${s.region}`)).status).toBe(200), expect: ['gs.busy'] },
  { name: 'a release', setup: (s) => claimIt(s), act: async (s) => void expect((await release(`c-${s.region}`)).status).toBe(200), expect: ['gs.released', 'gs.available:released'] },
  { name: 'set-gs-busy', act: async (s) => void expect((await post(makeSetBusy(t.deps), '/set-gs-busy/{endpoint}', { claimId: `h-${s.region}` }, { endpoint: s.endpoint })).status).toBe(200), expect: ['gs.busy'] },
  {
    name: 'set-gs-available',
    setup: async (s) => void expect((await post(makeSetBusy(t.deps), '/set-gs-busy/{endpoint}', { claimId: `h-${s.region}` }, { endpoint: s.endpoint })).status).toBe(200),
    act: async (s) => void expect((await post(makeSetAvailable(t.deps), '/set-gs-available/{endpoint}', { claimId: `h-${s.region}` }, { endpoint: s.endpoint })).body.released).toBe(true),
    expect: ['gs.released', 'gs.available:released'],
  },
  {
    name: 'the first heartbeat after the lease ran out',
    setup: (s) => claimIt(s, { leaseSeconds: 5 }),
    act: async (s) => {
      clock.advance(6000);
      await heartbeatOf(s);
    },
    expect: ['gs.available:lease-expired'],
  },
  { name: 'the pod of a busy server drains', setup: async (s) => { await claimIt(s); await confirm(`c-${s.region}`); }, act: (s) => podEvent(s, 'draining'), expect: ['gs.draining:sigterm', 'claim.lost:draining'] },
  { name: 'a Spot interruption drains the node', act: (s) => nodeDrain(s, 'draining', 1, 'spot-interruption'), expect: ['gs.draining:spot-interruption'] },
  { name: 'a rebalance recommendation drains the node', act: (s) => nodeDrain(s, 'draining', 1, 'rebalance-recommendation'), expect: ['gs.draining:rebalance'] },
  { name: 'a node drained by hand, with a claim on it', setup: (s) => claimIt(s), act: (s) => nodeDrain(s, 'draining', 1, 'manual'), expect: ['gs.draining:node-drain', 'claim.lost:draining'] },
  { name: 'the node is un-drained', setup: (s) => nodeDrain(s, 'draining', 1, 'manual'), act: (s) => nodeDrain(s, 'ready', 2), expect: ['gs.available:undrained'] },
  { name: 'the pod of a claimed server terminates', setup: (s) => claimIt(s), act: (s) => podEvent(s, 'terminating'), expect: ['gs.terminated', 'claim.lost:terminated'] },
  {
    name: 'the stale sweep finds a held server silent',
    setup: (s) => claimIt(s, { leaseSeconds: 600 }),
    act: async (s) => {
      clock.advance(31_000);
      await sweepStaleServers(t.deps);
      // Its region's other rows are done: only this server is held and silent.
      void s;
    },
    expect: ['gs.stale', 'claim.lost:stale'],
  },
];

describe('each event type fires exactly for its transition (real stream)', () => {
  let subnet = 60;
  it.each(TRANSITIONS)('$name', async (row) => {
    const region = `row-${subnet}`;
    const [endpoint] = await registerFleet(t.deps, { count: 1, region, subnet: subnet++, sentAt: clock() });
    const record = (await getGameServers(t.deps, [endpoint!])).get(endpoint!)!;
    let seq = 1;
    const server: RowServer = { endpoint: endpoint!, node: record.node, region, pod: record.podUid, seq: () => ++seq };
    await row.setup?.(server);
    const before = of(await settled(), endpoint!).length;
    await row.act(server);
    const after = of(await settled(), endpoint!).slice(before);
    const label = (e: NotificationEvent) => {
      const data = e.data as { reason?: string; lost?: string };
      const detail = data.lost ?? (e.type === 'gs.released' || e.type === 'gs.terminated' || e.type === 'gs.stale' || e.type === 'gs.claimed' || e.type === 'gs.busy' ? undefined : data.reason);
      return detail ? `${e.type}:${detail}` : e.type;
    };
    expect(after.map(label)).toEqual(row.expect);
  });
});
