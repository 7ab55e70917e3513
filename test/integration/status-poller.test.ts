import fc from 'fast-check';
import { Logger } from '@aws-lambda-powertools/logger';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poolPosition } from '../../lib/game-servers/availability-keys';
import { makeHandler } from '../../functions/status-poller';
import { applyLifecycleEvent } from '../../lib/ingestion/apply-lifecycle-event';
import { getGameServer } from '../../lib/game-servers/records';
import { getLoadBalancer } from '../../lib/load-balancers/repo';
import { getNode } from '../../lib/nodes/repo';
import { NEVER, type GameServerItem } from '../../schemas/items';
import { LEGACY_GS_BODY, LEGACY_LB_BODY, T0, gsEvent, v1Message } from '../fixtures/events';
import { historyWithDelivery } from '../fixtures/event-sequences';
import { sqsEvent, sqsRecord, toWire } from '../fixtures/sqs';
import { createTestStack, manualClock, type TestStack } from '../setup/stack';

const clock = manualClock(T0 + 60_000);
let t: TestStack;
let handler: ReturnType<typeof makeHandler>;
const context = {} as Context;

beforeAll(async () => {
  t = await createTestStack({ clock, env: { AVAILABILITY_SHARDS: '3' } });
  handler = makeHandler(t.deps);
});
afterAll(async () => t?.destroy());

function observable(item: GameServerItem | undefined) {
  if (!item) return undefined;
  const { version: _v, updatedAt: _u, expiresAt: _e, endpoint: _p, availAll: _a, availRegion: _r, availGroup: _g, ...rest } = item;
  // A pool position is drawn from the endpoint and pod: the same place, whatever the endpoint.
  return item.availableAt === poolPosition(item.endpoint, item.podUid) ? { ...rest, availableAt: 'its pod\'s pool position' } : rest;
}

describe('status-poller', () => {
  it('registers a v1 game server as available', async () => {
    const response = await handler(sqsEvent([sqsRecord(JSON.stringify(v1Message({ endpoint: '10.1.0.1:7777' })))]), context);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await getGameServer(t.deps, '10.1.0.1:7777')).toMatchObject({
      status: 'available',
      node: 'ip-10-0-0-12',
      labels: { map: 'dust', mode: 'ranked' },
      seq: 1,
      version: 1,
    });
  });

  it('accepts the replaced sample\'s game-server JSON and load-balancer Python literal unchanged', async () => {
    const sent = T0 + 1000;
    const response = await handler(
      sqsEvent([sqsRecord(LEGACY_GS_BODY, { sentTimestamp: sent }), sqsRecord(LEGACY_LB_BODY, { sentTimestamp: sent })]),
      context,
    );
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await getGameServer(t.deps, '192.168.1.10:40001')).toMatchObject({
      status: 'available',
      node: '192.168.1.10',
      group: 'mockup-server-grp1',
      publicEndpoint: 'ec2-54-1-2-3.us-west-2.compute.amazonaws.com:40001',
      source: 'legacy',
      freshUntil: NEVER,
    });
    expect(await getLoadBalancer(t.deps, 'ec2-54-9-9-9.us-west-2.compute.amazonaws.com:41000')).toMatchObject({
      status: 'active',
      targets: ['10.0.0.1:40001', '10.0.0.2:40002'],
    });
  });

  it('a legacy terminating ends the server and a late legacy init does not bring it back', async () => {
    const body = LEGACY_GS_BODY.replace('192.168.1.10', '192.168.1.11');
    await handler(sqsEvent([sqsRecord(body.replace('"init"', '"terminating"'), { sentTimestamp: T0 + 2000 })]), context);
    await handler(sqsEvent([sqsRecord(body, { sentTimestamp: T0 + 1000 })]), context);
    expect(await getGameServer(t.deps, '192.168.1.11:40001')).toMatchObject({ status: 'terminated' });
  });

  it('reports a malformed message as a batch item failure and applies the rest of the batch', async () => {
    const good1 = sqsRecord(JSON.stringify(v1Message({ endpoint: '10.1.0.2:7777' })), { messageId: 'good-1' });
    const poison = sqsRecord('{"v":1,"kind":"game-server","endpoint":"not-an-endpoint"}', { messageId: 'poison' });
    const notJson = sqsRecord('<xml/>', { messageId: 'not-json' });
    const good2 = sqsRecord(JSON.stringify(v1Message({ endpoint: '10.1.0.3:7777' })), { messageId: 'good-2' });
    const response = await handler(sqsEvent([good1, poison, notJson, good2]), context);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'poison' }, { itemIdentifier: 'not-json' }] });
    expect((await getGameServer(t.deps, '10.1.0.2:7777'))?.status).toBe('available');
    expect((await getGameServer(t.deps, '10.1.0.3:7777'))?.status).toBe('available');
  });

  it('reports malformed node events as batch item failures and writes no node record', async () => {
    const node = 'node-malformed-1';
    const bad = [
      { v: 1, kind: 'node', event: 'exploded', node, sentAt: new Date(T0).toISOString() },
      { v: 1, kind: 'node', event: 'draining', node, sentAt: 'yesterday' },
      { v: 1, kind: 'node', event: 'draining', sentAt: new Date(T0).toISOString() },
    ].map((body, i) => sqsRecord(JSON.stringify(body), { messageId: `bad-node-${i}` }));
    const response = await handler(sqsEvent(bad), context);
    expect(response).toEqual({ batchItemFailures: bad.map((r) => ({ itemIdentifier: r.messageId })) });
    expect(await getNode(t.deps, node)).toBeUndefined();
  });

  it('a duplicated ready never undoes a claim', async () => {
    const endpoint = '10.1.0.4:7777';
    const ready = JSON.stringify(v1Message({ endpoint }));
    await handler(sqsEvent([sqsRecord(ready)]), context);
    await t.deps.ddb.send(
      new UpdateCommand({
        TableName: t.config.tables.gameServers,
        Key: { endpoint },
        UpdateExpression: 'SET #s = :busy, claimId = :c, availableAt = :never, version = version + :one',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':busy': 'busy', ':c': 'match-1', ':never': NEVER, ':one': 1 },
      }),
    );
    await handler(sqsEvent([sqsRecord(ready), sqsRecord(ready)]), context);
    await handler(sqsEvent([sqsRecord(JSON.stringify(v1Message({ endpoint, event: 'heartbeat', seq: 2, players: 4 })))]), context);
    expect(await getGameServer(t.deps, endpoint)).toMatchObject({ status: 'busy', claimId: 'match-1', players: 4, seq: 2 });
  });

  it('any reordering and duplication of a pod\'s events, delivered in batches, ends in the in-order state (DynamoDB Local)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(historyWithDelivery(), fc.integer({ min: 1, max: 10 }), async ({ events, delivery }, batchSize) => {
        run++;
        const inOrder = `10.2.${run % 250}.${Math.floor(run / 250)}:1000`;
        const shuffled = `10.3.${run % 250}.${Math.floor(run / 250)}:1000`;
        for (const event of events) await applyLifecycleEvent(t.deps, { ...event, endpoint: inOrder });
        for (let i = 0; i < delivery.length; i += batchSize) {
          // The queue stamps each copy when its pod sent it (pods' clocks are right here).
          const batch = delivery.slice(i, i + batchSize).map((event) => sqsRecord(toWire({ ...event, endpoint: shuffled }), { sentTimestamp: event.sentAt }));
          expect(await handler(sqsEvent(batch), context)).toEqual({ batchItemFailures: [] });
        }
        const expected = observable(await getGameServer(t.deps, inOrder));
        expect(observable(await getGameServer(t.deps, shuffled))).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('concurrent writers on one endpoint converge on the newest event (optimistic locking)', async () => {
    const endpoint = '10.1.0.5:7777';
    const events = Array.from({ length: 20 }, (_, i) => gsEvent({ endpoint, event: 'heartbeat', seq: i + 1, sentAt: T0 + i, players: i }));
    const outcomes = await Promise.all(events.map((event) => applyLifecycleEvent(t.deps, event)));
    const final = await getGameServer(t.deps, endpoint);
    expect(final).toMatchObject({ seq: 20, players: 19, status: 'available' });
    expect(final?.version).toBe(outcomes.filter((o) => o.outcome === 'applied').length);
  });

  it('maintains load balancers: targets follow the newest event, terminating ends them', async () => {
    const lb = (overrides: Record<string, unknown>) =>
      JSON.stringify({
        v: 1, kind: 'load-balancer', event: 'ready', endpoint: 'lb-9.example.com:41000', region: 'us-west', node: 'n1',
        podUid: 'lb-pod', seq: 1, sentAt: new Date(T0).toISOString(), targets: ['10.0.0.1:1'], ...overrides,
      });
    await handler(sqsEvent([sqsRecord(lb({ seq: 2, event: 'heartbeat', targets: ['10.0.0.1:1', '10.0.0.2:2'] })), sqsRecord(lb({}))]), context);
    expect(await getLoadBalancer(t.deps, 'lb-9.example.com:41000')).toMatchObject({ status: 'active', seq: 2, targets: ['10.0.0.1:1', '10.0.0.2:2'] });
    await handler(sqsEvent([sqsRecord(lb({ seq: 3, event: 'terminating' }))]), context);
    expect(await getLoadBalancer(t.deps, 'lb-9.example.com:41000')).toMatchObject({ status: 'terminated' });
  });
});

/** A silent logger that keeps its warnings, to see what operators would see. */
class WarningsLogger extends Logger {
  readonly warnings: unknown[][] = [];
  constructor() {
    super({ serviceName: 'gs-inventory-test', logLevel: 'SILENT' });
  }
  override warn(...args: Parameters<Logger['warn']>): void {
    this.warnings.push(args);
  }
}

describe('status-poller: a sender\'s clock is bounded by the queue\'s SentTimestamp', () => {
  const HOUR = 3_600_000;
  const iso = (ms: number) => new Date(ms).toISOString();

  it('a newer pod with a correct clock takes over an endpoint registered by a pod whose clock is 1 hour fast', async () => {
    const endpoint = '10.1.0.6:7777';
    const skew = t.config.maxClockSkewMs;
    const logger = new WarningsLogger();
    const poller = makeHandler(t.depsWith({ logger }));

    const fastReady = v1Message({ endpoint, podUid: 'pod-fast-clock', node: 'node-fast', sentAt: iso(T0 + HOUR), players: 1 });
    const first = await poller(sqsEvent([sqsRecord(JSON.stringify(fastReady), { messageId: 'fast-ready', sentTimestamp: T0 })]), context);
    expect(first).toEqual({ batchItemFailures: [] });
    expect(await getGameServer(t.deps, endpoint)).toMatchObject({ podUid: 'pod-fast-clock', sentAt: T0 + skew, status: 'available' });

    // Sent after the fast pod's ready but long before its clock's claim: the newer pod.
    const sentLater = T0 + skew + 5000;
    const newerReady = v1Message({ endpoint, podUid: 'pod-accurate-clock', node: 'node-accurate', sentAt: iso(sentLater), players: 7 });
    const second = await poller(sqsEvent([sqsRecord(JSON.stringify(newerReady), { messageId: 'newer-ready', sentTimestamp: sentLater })]), context);
    expect(second).toEqual({ batchItemFailures: [] });
    expect(await getGameServer(t.deps, endpoint)).toMatchObject({
      podUid: 'pod-accurate-clock',
      node: 'node-accurate',
      seq: 1,
      sentAt: sentLater,
      lastEvent: 'ready',
      phase: 'active',
      status: 'available',
      players: 7,
    });
    expect(logger.warnings).toEqual([
      [
        'event sentAt clamped',
        { messageId: 'fast-ready', kind: 'game-server', endpoint, podUid: 'pod-fast-clock', node: 'node-fast', sentTimestamp: T0, aheadByMs: HOUR, clampedByMs: HOUR - skew },
      ],
    ]);
  });

  it('a node drained by a watcher whose clock is 1 hour fast is un-drained by a later ready from a correct clock', async () => {
    const node = 'node-fast-watcher';
    const skew = t.config.maxClockSkewMs;
    const logger = new WarningsLogger();
    const poller = makeHandler(t.depsWith({ logger }));
    const drain = { v: 1, kind: 'node', event: 'draining', node, sentAt: iso(T0 + HOUR), seq: 1 };
    expect(await poller(sqsEvent([sqsRecord(JSON.stringify(drain), { messageId: 'fast-drain', sentTimestamp: T0 })]), context)).toEqual({ batchItemFailures: [] });
    expect(await getNode(t.deps, node)).toMatchObject({ state: 'draining', sentAt: T0 + skew });

    const sentLater = T0 + skew + 5000;
    const ready = { v: 1, kind: 'node', event: 'ready', node, sentAt: iso(sentLater), seq: 1 };
    expect(await poller(sqsEvent([sqsRecord(JSON.stringify(ready), { messageId: 'later-ready', sentTimestamp: sentLater })]), context)).toEqual({ batchItemFailures: [] });
    expect(await getNode(t.deps, node)).toMatchObject({ state: 'ready', sentAt: sentLater });
    expect(logger.warnings).toEqual([
      ['event sentAt clamped', { messageId: 'fast-drain', kind: 'node', node, sentTimestamp: T0, aheadByMs: HOUR, clampedByMs: HOUR - skew }],
    ]);
  });

  it('refuses a v1 message without SentTimestamp and writes nothing', async () => {
    const endpoint = '10.1.0.7:7777';
    const record = sqsRecord(JSON.stringify(v1Message({ endpoint })), { messageId: 'no-sent-timestamp' });
    record.attributes.SentTimestamp = '';
    expect(await handler(sqsEvent([record]), context)).toEqual({ batchItemFailures: [{ itemIdentifier: 'no-sent-timestamp' }] });
    expect(await getGameServer(t.deps, endpoint)).toBeUndefined();
  });
});
