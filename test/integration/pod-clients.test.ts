import { createServer, request as httpRequest, type Server } from 'node:http';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, CreateQueueCommand } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler } from '../../functions/status-poller';
import {
  claimServersForLoadBalancer,
  ClaimWatcher,
  GameServerAgent,
  InstanceMetadataClient,
  InventoryApiClient,
  loadBalancerClaimId,
  NodeDrainWatcher,
  SqsEventSender,
  type AgentLogger,
} from '../../clients/lib';
import { getClaim } from '../../lib/claims/repo';
import { getGameServer } from '../../lib/game-servers/records';
import { getNode } from '../../lib/nodes/repo';
import { startFakeImds, type FakeImds } from '../../scripts/local/fake-imds';
import { startHttpServer } from '../../scripts/local/http-server';
import { LOCAL_CREDENTIALS, freePort } from '../../scripts/local/services';
import { API_KEYS_ENV, KEYS } from '../fixtures/http';
import { registerFleet } from '../fixtures/servers';
import { sqsEvent, sqsRecord } from '../fixtures/sqs';
import { startScript } from '../e2e/processes';
import { createTestStack, type TestStack } from '../setup/stack';

let t: TestStack;
let imds: FakeImds;
let api: { url: string; close(): Promise<void> };
let poller: ReturnType<typeof makeHandler>;
const context = {} as Context;
let queueCounter = 0;

beforeAll(async () => {
  t = await createTestStack({ env: { API_KEYS: API_KEYS_ENV } });
  poller = makeHandler(t.deps);
  imds = await startFakeImds();
  api = await startHttpServer(t.deps, { port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await api?.close();
  await imds?.stop();
  await t?.destroy();
});

/** A queue of the test's own, so that each test reads exactly the messages its client sent. */
async function ownQueue(): Promise<string> {
  const created = await t.sqs.send(new CreateQueueCommand({ QueueName: `${t.stack.stage}-clients-${++queueCounter}` }));
  return created.QueueUrl!;
}

/** Receives until `count` messages arrived (the clients send asynchronously). */
async function receive(queueUrl: string, count: number): Promise<Array<Record<string, any>>> {
  const bodies: Array<Record<string, any>> = [];
  for (let round = 0; round < 100 && bodies.length < count; round++) {
    const received = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    const messages = received.Messages ?? [];
    if (messages.length === 0) continue;
    bodies.push(...messages.map((m) => JSON.parse(m.Body!)));
    await t.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
  return bodies;
}

const applyMessages = async (bodies: Array<Record<string, unknown>>) =>
  expect(await poller(sqsEvent(bodies.map((body) => sqsRecord(JSON.stringify(body)))), context)).toEqual({ batchItemFailures: [] });

const sender = (queueUrl: string, extra: Partial<ConstructorParameters<typeof SqsEventSender>[0]> = {}) =>
  new SqsEventSender({ queueUrl, endpoint: t.endpoints.sqs, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, backoff: { baseMs: 10, maxMs: 50 }, ...extra });

function recordingLogger(): AgentLogger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/**
 * An HTTP proxy in front of the local SQS server that answers the first `failures` requests with
 * 503 itself: a real network failure for the client, no mock of it.
 */
async function flakyProxy(target: string, failures: number): Promise<{ url: string; seen: () => number; close(): Promise<void> }> {
  let seen = 0;
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    seen++;
    if (seen <= failures) {
      res.writeHead(503, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ __type: 'com.amazonaws.sqs#ServiceUnavailable', message: 'try again' }));
      req.resume();
      return;
    }
    const forward = httpRequest({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen: () => seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('gs-agent (GameServerAgent)', () => {
  it('sends ready, then heartbeats with the player count and a growing seq; the poller registers the server', async () => {
    const queueUrl = await ownQueue();
    let players = 0;
    const agent = new GameServerAgent({
      identity: { endpoint: '10.60.0.1:7777', region: 'us-west', node: 'node-agent', group: 'agents', podUid: 'pod-agent-1', labels: { map: 'dust' }, capacity: 8 },
      sender: sender(queueUrl),
      heartbeatIntervalMs: 50,
      players: () => ++players,
    });
    expect(await agent.start()).toMatchObject({ ok: true, attempts: 1 });
    const bodies = await receive(queueUrl, 4);
    agent.stop();
    expect(bodies.slice(0, 4).map((b) => [b.event, b.seq])).toEqual([['ready', 1], ['heartbeat', 2], ['heartbeat', 3], ['heartbeat', 4]]);
    expect(bodies[0]).toMatchObject({ v: 1, kind: 'game-server', endpoint: '10.60.0.1:7777', node: 'node-agent', podUid: 'pod-agent-1', labels: { map: 'dust' }, capacity: 8, players: 1 });
    expect(bodies.slice(1, 4).map((b) => b.players)).toEqual([2, 3, 4]);
    await applyMessages(bodies);
    expect(await getGameServer(t.deps, '10.60.0.1:7777')).toMatchObject({ status: 'available', players: bodies.at(-1)!.players, seq: bodies.at(-1)!.seq });
  });

  it('sends draining once when a Spot interruption notice appears (IMDSv2 token flow against the fake metadata service)', async () => {
    const queueUrl = await ownQueue();
    const instance = 'agent-spot';
    const client = new InstanceMetadataClient({ baseUrl: imds.urlFor(instance) });
    const tokensBefore = imds.stats.tokens;
    const agent = new GameServerAgent({
      identity: { endpoint: '10.60.0.2:7777', region: 'us-west', node: 'node-spot', podUid: 'pod-spot' },
      sender: sender(queueUrl),
      heartbeatIntervalMs: 60_000,
      imds: client,
      interruptionPollMs: 20,
    });
    await agent.start();
    expect(await receive(queueUrl, 1)).toMatchObject([{ event: 'ready' }]);
    imds.revokeTokens(); // the next read gets 401 and must fetch a new token
    imds.interrupt(instance);
    const [draining] = await receive(queueUrl, 1);
    expect(draining).toMatchObject({ event: 'draining', seq: 2, endpoint: '10.60.0.2:7777' });
    expect(agent.phase).toBe('draining');
    expect(imds.stats.tokens - tokensBefore).toBe(2);
    expect(imds.stats.unauthorized).toBeGreaterThanOrEqual(1);
    const ended = await agent.terminate();
    expect(ended).toMatchObject({ ok: true });
    expect((await receive(queueUrl, 1)).map((b) => [b.event, b.seq])).toEqual([['terminating', 3]]);
  });

  it('keeps running through a metadata outage and still reports a rebalance recommendation afterwards', async () => {
    const queueUrl = await ownQueue();
    const instance = 'agent-outage';
    imds.setFailing(instance, true);
    const logger = recordingLogger();
    const agent = new GameServerAgent({
      identity: { endpoint: '10.60.0.3:7777', region: 'us-west', node: 'node-outage', podUid: 'pod-outage' },
      sender: sender(queueUrl),
      heartbeatIntervalMs: 60_000,
      imds: new InstanceMetadataClient({ baseUrl: imds.urlFor(instance) }),
      interruptionPollMs: 20,
      logger,
    });
    await agent.start();
    await receive(queueUrl, 1);
    imds.setFailing(instance, false);
    imds.recommendRebalance(instance);
    expect(await receive(queueUrl, 1)).toMatchObject([{ event: 'draining' }]);
    agent.stop();
    expect(logger.lines.filter((l) => l.startsWith('warn instance metadata unreachable'))).toHaveLength(1);
    expect(logger.lines.some((l) => l.includes('"reason":"rebalance-recommendation"'))).toBe(true);
  });

  it('retries SQS failures with backoff until one gets through', async () => {
    const queueUrl = await ownQueue();
    const proxy = await flakyProxy(t.endpoints.sqs, 3);
    const flaky = sender(queueUrl, { endpoint: proxy.url });
    const agent = new GameServerAgent({ identity: { endpoint: '10.60.0.4:7777', region: 'us-west', node: 'n', podUid: 'pod-flaky' }, sender: flaky, heartbeatIntervalMs: 60_000 });
    expect(await agent.start()).toMatchObject({ ok: true, attempts: 4 });
    agent.stop();
    flaky.close();
    await proxy.close();
    expect(proxy.seen()).toBe(4);
    expect(await receive(queueUrl, 1)).toMatchObject([{ event: 'ready', seq: 1 }]);
  });

  it('gives an event up after the bounded attempts and carries on (no exception reaches the game)', async () => {
    const deadPort = await freePort();
    const dead = sender(`http://127.0.0.1:${deadPort}/000000000000/nowhere`, { endpoint: `http://127.0.0.1:${deadPort}`, maxAttempts: 3, timeoutMs: 500 });
    const agent = new GameServerAgent({
      identity: { endpoint: '10.60.0.5:7777', region: 'us-west', node: 'n', podUid: 'pod-dead' },
      sender: dead,
      heartbeatIntervalMs: 60_000,
      lifecycleAttempts: 3,
    });
    const result = await agent.start();
    expect(result).toMatchObject({ ok: false, attempts: 3 });
    expect(agent.phase).toBe('active');
    expect(await agent.drain()).toMatchObject({ ok: false, attempts: 3 });
    expect(agent.stats).toEqual({ sent: 0, failed: 2 });
    agent.stop();
    dead.close();
  });

  it('refuses an identity the poller would reject, at construction', () => {
    expect(() => new GameServerAgent({ identity: { endpoint: 'not an endpoint', region: 'us-west', node: 'n', podUid: 'p' }, sender: sender('http://x'), heartbeatIntervalMs: 1000 })).toThrow(/endpoint/);
  });

  it('gs-agent wrapping a game that exits by itself reports it terminated and passes its exit code on', async () => {
    const queueUrl = await ownQueue();
    const run = startScript('gs-agent', 'clients/cli/gs-agent.ts', [
      '--endpoint', '10.60.0.6:7777', '--region', 'us-west', '--node', 'node-cli', '--pod-uid', 'pod-cli', '--imds', 'off',
      '--queue-url', queueUrl, '--sqs-endpoint', t.endpoints.sqs,
      '--', process.execPath, '-e', 'setTimeout(() => process.exit(3), 300)',
    ]);
    expect(await run.exited).toEqual({ code: 3, signal: null });
    const bodies = await receive(queueUrl, 2);
    expect(bodies.map((b) => b.event)).toEqual(['ready', 'terminated']);
    expect(bodies[0]!.podUid).toMatch(/^pod-cli\.[0-9a-z]+$/);
  });
});

describe('node-drain-watcher (NodeDrainWatcher)', () => {
  it('reports the node ready, then draining as soon as a notice appears, repeating its state; the poller drains the node', async () => {
    const queueUrl = await ownQueue();
    const instance = 'watcher-node';
    const watcher = new NodeDrainWatcher({
      identity: { node: 'node-watched', instanceId: 'i-0123456789abcdef0', watcher: 'watcher-pod' },
      sender: sender(queueUrl),
      imds: new InstanceMetadataClient({ baseUrl: imds.urlFor(instance) }),
      pollIntervalMs: 20,
      announceIntervalMs: 60_000,
    });
    await registerFleet(t.deps, { count: 3, nodes: 1, subnet: 70 });
    const onNode = (await getGameServer(t.deps, '10.0.70.1:7777'))!.node;
    expect(onNode).toBe('node-70-0');
    await watcher.start();
    expect(await receive(queueUrl, 1)).toMatchObject([{ v: 1, kind: 'node', event: 'ready', node: 'node-watched', seq: 1 }]);
    imds.interrupt(instance);
    const [drain] = await receive(queueUrl, 1);
    watcher.stop();
    expect(drain).toMatchObject({ kind: 'node', event: 'draining', reason: 'spot-interruption', node: 'node-watched', instanceId: 'i-0123456789abcdef0', seq: 2 });
    await applyMessages([{ ...drain, node: onNode }]);
    expect(await getNode(t.deps, onNode)).toMatchObject({ state: 'draining', reason: 'spot-interruption' });
    for (const i of [1, 2, 3]) expect((await getGameServer(t.deps, `10.0.70.${i}:7777`))?.status).toBe('draining');
  });

  it('a watcher restarted on an instance that already has a notice starts with draining, never ready', async () => {
    const queueUrl = await ownQueue();
    const instance = 'watcher-restarted';
    imds.recommendRebalance(instance);
    const watcher = new NodeDrainWatcher({
      identity: { node: 'node-restarted' },
      sender: sender(queueUrl),
      imds: new InstanceMetadataClient({ baseUrl: imds.urlFor(instance) }),
      pollIntervalMs: 20,
      announceIntervalMs: 30,
    });
    await watcher.start();
    const bodies = await receive(queueUrl, 3);
    watcher.stop();
    expect(bodies.slice(0, 3).map((b) => [b.event, b.reason])).toEqual([
      ['draining', 'rebalance-recommendation'],
      ['draining', 'rebalance-recommendation'],
      ['draining', 'rebalance-recommendation'],
    ]);
  });
});

describe('lb-bootstrap (claimServersForLoadBalancer)', () => {
  const lbApi = (key: string = KEYS.loadBalancer) => new InventoryApiClient({ baseUrl: api.url, apiKey: key });
  const base = { count: 2, region: 'us-west', deadlineMs: 5000, backoff: { baseMs: 20, maxMs: 100 } };

  it('claims two servers on distinct nodes with one claim id from the pod identity, confirmed (busy)', async () => {
    await registerFleet(t.deps, { count: 4, nodes: 2, group: 'lb-a', subnet: 80 });
    const result = await claimServersForLoadBalancer({ ...base, api: lbApi(), podUid: 'lb-pod-a', group: 'lb-a' });
    if (!result.ok) throw new Error(result.reason);
    expect(result).toMatchObject({ claimId: 'lb-lb-pod-a', attempts: 1, replayed: false });
    expect(result.servers.map((s) => s.status)).toEqual(['busy', 'busy']);
    expect(new Set(result.servers.map((s) => s.node)).size).toBe(2);

    // A restarted container: the same claim id, the same servers.
    const again = await claimServersForLoadBalancer({ ...base, api: lbApi(), podUid: 'lb-pod-a', group: 'lb-a' });
    expect(again).toMatchObject({ ok: true, claimId: 'lb-lb-pod-a', replayed: true });
    expect(again.ok && again.servers.map((s) => s.endpoint)).toEqual(result.servers.map((s) => s.endpoint));
  });

  it('retries with backoff while too few servers exist and succeeds once they register', async () => {
    const logger = recordingLogger();
    let registered = false;
    const watching: AgentLogger = {
      ...logger,
      info: (message, fields) => {
        logger.info(message, fields);
        if (message === 'claim not possible yet, retrying' && !registered) {
          registered = true;
          void registerFleet(t.deps, { count: 2, nodes: 2, group: 'lb-late', subnet: 81 });
        }
      },
    };
    const result = await claimServersForLoadBalancer({ ...base, deadlineMs: 20_000, api: lbApi(), podUid: 'lb-pod-late', group: 'lb-late', logger: watching });
    expect(result.ok).toBe(true);
    expect(result.attempts).toBeGreaterThan(1);
    expect(logger.lines.some((l) => l.includes('gs.none_available'))).toBe(true);
  });

  it('gives up at the deadline, saying why', async () => {
    const result = await claimServersForLoadBalancer({ ...base, deadlineMs: 300, api: lbApi(), podUid: 'lb-pod-none', group: 'lb-empty' });
    expect(result).toMatchObject({ ok: false, fatal: false });
    expect(!result.ok && result.reason).toMatch(/^gave up after \d+ attempts in 0 s; last answer gs\.none_available: No game servers match/);
  });

  it('stops at once on a refused key', async () => {
    const result = await claimServersForLoadBalancer({ ...base, api: lbApi('not-a-valid-key-123'), podUid: 'lb-pod-key', group: 'lb-a' });
    expect(result).toMatchObject({ ok: false, fatal: true, attempts: 1 });
    expect(!result.ok && result.reason).toMatch(/^HTTP 401/);
  });

  it('a claim that was released, or whose servers went away, is released and the next claim id takes over', async () => {
    await registerFleet(t.deps, { count: 6, nodes: 3, group: 'lb-next', subnet: 82 });
    const first = await claimServersForLoadBalancer({ ...base, api: lbApi(), podUid: 'lb-pod-next', group: 'lb-next' });
    if (!first.ok) throw new Error(first.reason);
    expect((await lbApi().release(first.claimId)).ok).toBe(true);
    const second = await claimServersForLoadBalancer({ ...base, api: lbApi(), podUid: 'lb-pod-next', group: 'lb-next' });
    expect(second).toMatchObject({ ok: true, claimId: loadBalancerClaimId('lb-pod-next', 2) });
    if (!second.ok) return;

    // One of the second claim's servers goes away (its node is drained).
    await applyMessages([{ v: 1, kind: 'node', event: 'draining', node: second.servers[0]!.node, sentAt: new Date().toISOString(), seq: 1 }]);
    const third = await claimServersForLoadBalancer({ ...base, api: lbApi(), podUid: 'lb-pod-next', group: 'lb-next' });
    expect(third).toMatchObject({ ok: true, claimId: loadBalancerClaimId('lb-pod-next', 3) });
    const claim = await lbApi().getClaim(loadBalancerClaimId('lb-pod-next', 2));
    expect(claim.ok && claim.body.status).toBe('released');
    expect(third.ok && third.servers.every((s) => s.node !== second.servers[0]!.node)).toBe(true);
  });

  it('the claim watcher renews a confirmed claim once half its hold has passed, and not before', async () => {
    await registerFleet(t.deps, { count: 2, nodes: 2, group: 'lb-renew', subnet: 84 });
    const claimed = await claimServersForLoadBalancer({ ...base, api: lbApi(), podUid: 'lb-pod-renew', group: 'lb-renew' });
    if (!claimed.ok) throw new Error(claimed.reason);
    const before = (await getClaim(t.deps, claimed.claimId))!;
    const watcher = (at: number) =>
      new ClaimWatcher({ api: lbApi(), claimId: claimed.claimId, servers: claimed.servers, intervalMs: 60_000, onChange: async () => undefined, onAllLost: () => undefined, clock: () => at });
    await watcher(before.holdExpiresAt! - (before.holdSeconds * 1000) / 2 - 60_000).check();
    expect((await getClaim(t.deps, claimed.claimId))!.renewedAt).toBeUndefined();

    await watcher(before.holdExpiresAt! - (before.holdSeconds * 1000) / 2 + 1).check();
    const after = (await getClaim(t.deps, claimed.claimId))!;
    expect(after.renewedAt).toBeDefined();
    expect(after.holdExpiresAt).toBe(after.renewedAt! + after.holdSeconds * 1000);
    for (const server of claimed.servers) {
      expect(await getGameServer(t.deps, server.endpoint)).toMatchObject({ status: 'busy', claimId: claimed.claimId, holdExpiresAt: after.holdExpiresAt });
    }
  });

  it('the claim watcher reports when a claimed server stops being usable, with the ones left', async () => {
    await registerFleet(t.deps, { count: 2, nodes: 2, group: 'lb-watch', subnet: 83 });
    const claimed = await claimServersForLoadBalancer({ ...base, api: lbApi(), podUid: 'lb-pod-watch', group: 'lb-watch' });
    if (!claimed.ok) throw new Error(claimed.reason);
    const changes: string[][] = [];
    const watcher = new ClaimWatcher({ api: lbApi(), claimId: claimed.claimId, servers: claimed.servers, intervalMs: 60_000, onChange: async (usable) => void changes.push(usable.map((s) => s.endpoint)), onAllLost: () => changes.push(['all lost']) });
    await watcher.check();
    expect(changes).toEqual([]);
    const [gone, kept] = claimed.servers as [(typeof claimed.servers)[0], (typeof claimed.servers)[0]];
    const stored = (await getGameServer(t.deps, gone.endpoint))!;
    await applyMessages([{ v: 1, kind: 'game-server', event: 'terminating', endpoint: gone.endpoint, region: 'us-west', node: stored.node, podUid: stored.podUid, seq: 2, sentAt: new Date().toISOString() }]);
    await watcher.check();
    expect(changes).toEqual([[kept.endpoint]]);
    const keptRecord = (await getGameServer(t.deps, kept.endpoint))!;
    await applyMessages([{ v: 1, kind: 'game-server', event: 'terminating', endpoint: kept.endpoint, region: 'us-west', node: keptRecord.node, podUid: keptRecord.podUid, seq: 2, sentAt: new Date().toISOString() }]);
    await watcher.check();
    expect(changes).toEqual([[kept.endpoint], ['all lost']]);
  });
});
