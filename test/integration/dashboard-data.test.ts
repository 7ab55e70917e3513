import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler as makeClaim } from '../../functions/claim-gs';
import { makeHandler as makeConfirm } from '../../functions/confirm-claim';
import { makeHandler as makeDashboard } from '../../functions/dashboard';
import { makeHandler as makeDashboardAsset } from '../../functions/dashboard-asset';
import { makeHandler as makeFleet } from '../../functions/fleet';
import { makeHandler as makeNotifier } from '../../functions/notifier';
import { makeHandler as makeRecentEvents } from '../../functions/recent-events';
import { makeHandler as makeRelease } from '../../functions/release-claim';
import { gunzipSync } from 'node:zlib';
import { DASHBOARD_CSP } from '../../lib/dashboard-assets';
import { COMPRESS_MIN_BYTES } from '../../lib/http/middlewares/compress-responses';
import { applyLifecycleEvent } from '../../lib/ingestion/apply-lifecycle-event';
import { applyNodeEvent } from '../../lib/ingestion/apply-node-event';
import { FEED_BUCKET_MS, FEED_RETENTION_MS, appendToFeed } from '../../lib/notifications/feed';
import { claimReference } from '../../lib/ownership';
import type { EventPublisher } from '../../lib/notifications/publisher';
import { installDashboardBuild } from '../../scripts/local/http-server';
import { startStreamEventSource, type StreamEventSource } from '../../scripts/local/stream-event-source';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../scripts/local/services';
import { gsEvent } from '../fixtures/events';
import { PRINCIPAL_KEYS, PRINCIPAL_KEYS_ENV, apiEvent, invoke } from '../fixtures/http';
import { nodeEvent } from '../fixtures/node-sequences';
import { registerFleet } from '../fixtures/servers';
import { createTestStack, manualClock, type TestStack } from '../setup/stack';
import { marshall } from '@aws-sdk/util-dynamodb';
import { createDeps, type Deps } from '../../lib/deps';
import type { Config } from '../../lib/config';
import { startFaultProxy, type FaultProxy } from '../../scripts/chaos/fault-proxy';

const clock = manualClock(Date.parse('2026-11-27T09:00:00Z'));
let t: TestStack;
let streams: DynamoDBStreamsClient;
let proxy: FaultProxy;
const sources: StreamEventSource[] = [];
const published: string[] = [];
const bus: EventPublisher = {
  async publish(events) {
    published.push(...events.map((event) => event.id));
  },
};

beforeAll(async () => {
  t = await createTestStack({ clock, env: { API_KEYS: PRINCIPAL_KEYS_ENV, HEARTBEAT_TIMEOUT_SECONDS: '30', AVAILABILITY_SHARDS: '3' } });
  streams = new DynamoDBStreamsClient({ endpoint: t.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const notifier = makeNotifier(t.deps, bus);
  for (const table of [t.config.tables.gameServers, t.config.tables.loadBalancers]) {
    sources.push(startStreamEventSource({ streams, streamArn: t.stack.streamArns[table]!, handler: notifier, functionName: 'notifier', retryDelayMs: () => 20 }));
  }
  installDashboardBuild();
  proxy = await startFaultProxy({ target: t.config.endpoints.dynamodb! });
});
afterAll(async () => {
  await Promise.all(sources.map((source) => source.stop()));
  streams?.destroy();
  await proxy?.close();
  await t?.destroy();
});

const settled = () => Promise.all(sources.map((source) => source.drain()));
const post = (handler: Parameters<typeof invoke>[0], route: string, key: string, body?: unknown, pathParameters?: Record<string, string>) =>
  invoke(handler, { method: 'POST', route, key, ...(body !== undefined ? { body } : {}), ...(pathParameters ? { pathParameters } : {}) });
const fleet = (key: string, query: Record<string, string> = {}) => invoke(makeFleet(t.deps), { route: '/fleet', key, query });
const recent = (key: string, query: Record<string, string> = {}) => invoke(makeRecentEvents(t.deps), { route: '/events/recent', key, query });
const iso = (ms: number) => new Date(ms).toISOString();

describe('GET /fleet', () => {
  it('shows every server of the region with its status, node, drain and claim; the claim id only to its owner and admins', async () => {
    const start = clock();
    const endpoints = await registerFleet(t.deps, { count: 6, nodes: 3, region: 'fleet-a', group: 'g1', subnet: 61 });
    const pair = await post(makeClaim(t.deps), '/claim-gs', PRINCIPAL_KEYS.owner, { claimId: 'fleet-pair', count: 2, region: 'fleet-a', leaseSeconds: 60 });
    expect(pair.status).toBe(200);
    const paired: string[] = pair.body.servers.map((s: { endpoint: string }) => s.endpoint);
    clock.advance(1_000);
    // node-61-2 is drained by its watcher for a Spot interruption: its servers drain with it.
    await applyNodeEvent(t.deps, nodeEvent({ node: 'node-61-2', event: 'draining', reason: 'spot-interruption', sentAt: clock(), seq: 1 }));

    const asOwner = await fleet(PRINCIPAL_KEYS.owner, { region: 'fleet-a' });
    expect(asOwner.status).toBe(200);
    expect(asOwner.body.servers.map((s: { endpoint: string }) => s.endpoint)).toEqual([...endpoints].sort());
    const byEndpoint = new Map<string, any>(asOwner.body.servers.map((s: { endpoint: string }) => [s.endpoint, s]));
    const ref = claimReference('fleet-pair');
    for (const endpoint of endpoints) {
      const node = `node-61-${endpoints.indexOf(endpoint) % 3}`;
      const base = { endpoint, region: 'fleet-a', group: 'g1', node, lastHeartbeatAt: iso(start) };
      if (node === 'node-61-2') {
        // Drained with its node; a server of the pair on it no longer shows the claim (it is lost).
        expect(byEndpoint.get(endpoint), endpoint).toEqual({ ...base, status: 'draining', drain: 'spot-interruption', nodeDrained: true });
      } else if (paired.includes(endpoint)) {
        expect(byEndpoint.get(endpoint), endpoint).toEqual({
          ...base,
          status: 'claimed',
          claim: { ref, id: 'fleet-pair', owner: 'key:mm-a', since: iso(start), confirmed: false, expiresAt: iso(start + 60_000) },
        });
      } else {
        expect(byEndpoint.get(endpoint), endpoint).toEqual({ ...base, status: 'available' });
      }
    }

    const asReader = await fleet(PRINCIPAL_KEYS.reader, { region: 'fleet-a' });
    const asOther = await fleet(PRINCIPAL_KEYS.otherMatchmaker, { region: 'fleet-a' });
    const asAdmin = await fleet(PRINCIPAL_KEYS.admin, { region: 'fleet-a' });
    const claimsOf = (body: { servers: Array<{ claim?: unknown }> }) => body.servers.flatMap((s) => (s.claim ? [s.claim] : []));
    const drainedPaired = paired.filter((endpoint) => byEndpoint.get(endpoint)?.node === 'node-61-2').length;
    expect(claimsOf(asOwner.body)).toHaveLength(2 - drainedPaired);
    for (const body of [asReader.body, asOther.body]) {
      expect(claimsOf(body)).toEqual(claimsOf(asOwner.body).map(({ id: _id, ...rest }: any) => rest));
    }
    expect(claimsOf(asAdmin.body)).toEqual(claimsOf(asOwner.body));
  });

  it('shows a confirmed claim as confirmed until its hold, a run-out lease as available, and a silent server as stale', async () => {
    const endpoints = await registerFleet(t.deps, { count: 3, nodes: 3, region: 'fleet-b', subnet: 62 });
    const confirmed = await post(makeClaim(t.deps), '/claim-gs', PRINCIPAL_KEYS.owner, { claimId: 'fleet-held', region: 'fleet-b', holdSeconds: 600 });
    const leased = await post(makeClaim(t.deps), '/claim-gs', PRINCIPAL_KEYS.otherMatchmaker, { claimId: 'fleet-leased', region: 'fleet-b', leaseSeconds: 10 });
    expect([confirmed.status, leased.status]).toEqual([200, 200]);
    expect((await post(makeConfirm(t.deps), '/claims/{claimId}/confirm', PRINCIPAL_KEYS.owner, undefined, { claimId: 'fleet-held' })).status).toBe(200);
    const heldEndpoint = confirmed.body.servers[0].endpoint as string;
    const leasedEndpoint = leased.body.servers[0].endpoint as string;
    const confirmedAt = clock();
    clock.advance(10_001);
    const servers = new Map((await fleet(PRINCIPAL_KEYS.reader, { region: 'fleet-b' })).body.servers.map((s: { endpoint: string }) => [s.endpoint, s]));
    expect(servers.get(heldEndpoint)).toMatchObject({ status: 'busy', claim: { ref: claimReference('fleet-held'), owner: 'key:mm-a', confirmed: true, expiresAt: iso(confirmedAt + 600_000) } });
    expect(servers.get(leasedEndpoint)).toEqual(expect.objectContaining({ status: 'available' }));
    expect(servers.get(leasedEndpoint)).not.toHaveProperty('claim');
    // 30 s without a heartbeat: every server of the region is stale (and still shows its status).
    clock.advance(30_000);
    const later = (await fleet(PRINCIPAL_KEYS.reader, { region: 'fleet-b' })).body.servers;
    expect(later.map((s: { endpoint: string; stale?: boolean }) => [s.endpoint, s.stale])).toEqual([...endpoints].sort().map((e) => [e, true]));
  });

  it('filters by region and group, and by group alone', async () => {
    const g1 = await registerFleet(t.deps, { count: 2, region: 'fleet-c', group: 'ranked', subnet: 63 });
    const g2 = await registerFleet(t.deps, { count: 3, region: 'fleet-c', group: 'casual-c', subnet: 64 });
    const endpointsOf = (body: { servers: Array<{ endpoint: string }> }) => body.servers.map((s) => s.endpoint);
    expect(endpointsOf((await fleet(PRINCIPAL_KEYS.reader, { region: 'fleet-c' })).body)).toEqual([...g1, ...g2].sort());
    expect(endpointsOf((await fleet(PRINCIPAL_KEYS.reader, { region: 'fleet-c', group: 'ranked' })).body)).toEqual([...g1].sort());
    expect(endpointsOf((await fleet(PRINCIPAL_KEYS.reader, { group: 'casual-c' })).body)).toEqual([...g2].sort());
    const everything = endpointsOf((await fleet(PRINCIPAL_KEYS.reader)).body);
    expect(everything).toEqual(expect.arrayContaining([...g1, ...g2]));
  });

  it('gzips a large answer for a caller that accepts it, and only then', async () => {
    await registerFleet(t.deps, { count: 60, nodes: 6, region: 'fleet-z', subnet: 66 });
    const handler = makeFleet(t.deps);
    const ask = (headers: Record<string, string>) => handler(apiEvent({ route: '/fleet', key: PRINCIPAL_KEYS.reader, query: { region: 'fleet-z' }, headers }), {} as never);
    const plain = await ask({});
    const zipped = await ask({ 'accept-encoding': 'br;q=1.0, gzip;q=0.8, *;q=0.1' });
    const refused = await ask({ 'accept-encoding': 'gzip;q=0, identity' });
    expect(plain.isBase64Encoded ?? false).toBe(false);
    expect(Buffer.byteLength(String(plain.body))).toBeGreaterThan(COMPRESS_MIN_BYTES);
    expect(zipped).toMatchObject({ statusCode: 200, isBase64Encoded: true, headers: { 'content-encoding': 'gzip', vary: 'accept-encoding', 'content-type': 'application/json; charset=utf-8' } });
    expect(gunzipSync(Buffer.from(String(zipped.body), 'base64')).toString('utf8')).toBe(plain.body);
    expect(refused.isBase64Encoded ?? false).toBe(false);
    expect(refused.headers).not.toHaveProperty('content-encoding');
    // A small answer goes as it is.
    const small = await handler(apiEvent({ route: '/fleet', key: PRINCIPAL_KEYS.reader, query: { region: 'nowhere' }, headers: { 'accept-encoding': 'gzip' } }), {} as never);
    expect(small.isBase64Encoded ?? false).toBe(false);
    expect(small.headers).not.toHaveProperty('content-encoding');
    expect(JSON.parse(String(small.body)).servers).toEqual([]);
  });

  it('refuses unknown query parameters with a 400 and no key with a 401', async () => {
    const bad = await fleet(PRINCIPAL_KEYS.reader, { limit: '5' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('request.invalid_query');
    const anonymous = await invoke(makeFleet(t.deps), { route: '/fleet', key: null });
    expect(anonymous.status).toBe(401);
  });
});

describe('GET /events/recent', () => {
  it('lists what the notifier published, newest first, with claim ids only for their owner', async () => {
    const [endpoint] = await registerFleet(t.deps, { count: 1, region: 'feed-a', subnet: 65 });
    expect((await post(makeClaim(t.deps), '/claim-gs', PRINCIPAL_KEYS.owner, { claimId: 'feed-1', region: 'feed-a' })).status).toBe(200);
    clock.advance(1_000);
    expect((await post(makeRelease(t.deps), '/claims/{claimId}/release', PRINCIPAL_KEYS.owner, undefined, { claimId: 'feed-1' })).status).toBe(200);
    await settled();

    const mine = (await recent(PRINCIPAL_KEYS.owner, { limit: '200' })).body.events.filter((e: { endpoint: string }) => e.endpoint === endpoint);
    expect(mine.map((e: { type: string }) => e.type)).toEqual(['gs.available', 'gs.released', 'gs.claimed', 'gs.available']);
    const ref = claimReference('feed-1');
    expect(mine[1]).toEqual({
      id: expect.stringMatching(/^gs:10\.0\.65\.1:7777:\d+:gs\.released$/),
      type: 'gs.released',
      time: expect.any(String),
      endpoint,
      status: 'available',
      previousStatus: 'claimed',
      node: 'node-65-0',
      region: 'feed-a',
      group: 'grp1',
      owner: 'key:mm-a',
      claimRef: ref,
      claimId: 'feed-1',
    });
    expect(mine[0]).toMatchObject({ type: 'gs.available', reason: 'released', claimRef: ref });
    expect(mine[3]).toMatchObject({ type: 'gs.available', reason: 'registered' });
    expect(mine[3]).not.toHaveProperty('previousStatus');
    expect(mine.every((e: { id: string }) => published.includes(e.id))).toBe(true);

    const asReader = (await recent(PRINCIPAL_KEYS.reader, { limit: '200' })).body.events.filter((e: { endpoint: string }) => e.endpoint === endpoint);
    expect(asReader).toEqual(mine.map(({ claimId: _id, ...rest }: any) => rest));
  });

  it('answers the newest `limit` entries across buckets, and nothing older than an hour', async () => {
    const stored = (n: number, at: number) => ({ id: `feed-b:${n}`, type: 'gs.busy', time: iso(at), endpoint: `10.9.9.${n}:7777` });
    const base = clock() + 2 * FEED_RETENTION_MS;
    // Three batches: two in one bucket, one in the next.
    await appendToFeed(t.deps, [stored(1, base), stored(2, base + 1)], base + 5);
    await appendToFeed(t.deps, [stored(3, base + 10)], base + 15);
    await appendToFeed(t.deps, [stored(4, base + FEED_BUCKET_MS), stored(5, base + FEED_BUCKET_MS + 1)], base + FEED_BUCKET_MS + 5);
    clock.set(base + FEED_BUCKET_MS + 100);
    const ids = async (limit: string) => (await recent(PRINCIPAL_KEYS.reader, { limit })).body.events.map((e: { id: string }) => e.id);
    expect(await ids('200')).toEqual(['feed-b:5', 'feed-b:4', 'feed-b:3', 'feed-b:2', 'feed-b:1']);
    expect(await ids('3')).toEqual(['feed-b:5', 'feed-b:4', 'feed-b:3']);
    // An hour after each write, its batch is gone from the answer (before TTL deletes it).
    clock.set(base + 5 + FEED_RETENTION_MS + 1);
    expect(await ids('200')).toEqual(['feed-b:5', 'feed-b:4', 'feed-b:3']);
    clock.set(base + 15 + FEED_RETENTION_MS + 1);
    expect(await ids('200')).toEqual(['feed-b:5', 'feed-b:4']);
    clock.set(base + FEED_BUCKET_MS + 5 + FEED_RETENTION_MS + 1);
    expect(await ids('200')).toEqual([]);
  });

  it('refuses a limit out of 1-200 with a 400', async () => {
    for (const limit of ['0', '201', 'ten']) expect((await recent(PRINCIPAL_KEYS.reader, { limit })).status, limit).toBe(400);
  });
});

describe('GET /dashboard and its assets', () => {
  it('serves the page without a key, with a CSP of its own that allows only its assets and API calls', async () => {
    const page = await makeDashboard(t.deps)(apiEvent({ route: '/dashboard', key: null }), {} as never);
    expect(page.statusCode).toBe(200);
    expect(page.headers).toMatchObject({ 'content-type': 'text/html; charset=utf-8', 'content-security-policy': DASHBOARD_CSP, 'cache-control': 'no-store' });
    expect(DASHBOARD_CSP).toBe("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    const html = String(page.body);
    const names = [...html.matchAll(/\/dashboard\/assets\/(app\.[0-9a-f]{16}\.(?:js|css))/g)].map((m) => m[1]!);
    expect(names.map((name) => name.split('.').pop()).sort()).toEqual(['css', 'js']);
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)/);
    expect(html).not.toMatch(/<style|\sstyle=/);

    const asset = makeDashboardAsset(t.deps);
    for (const name of names) {
      const answer = await asset(apiEvent({ route: '/dashboard/assets/{file}', pathParameters: { file: name }, key: null }), {} as never);
      expect(answer.statusCode, name).toBe(200);
      expect(answer.headers).toMatchObject({
        'content-type': name.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8',
        'cache-control': 'public, max-age=31536000, immutable',
      });
      expect(String(answer.body).length).toBeGreaterThan(1000);
    }
  });

  it('answers 404 for an asset of another build and 400 for a name that is no asset', async () => {
    const asset = makeDashboardAsset(t.deps);
    const missing = await invoke(asset, { route: '/dashboard/assets/{file}', pathParameters: { file: 'app.0000000000000000.js' }, key: null });
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'asset.not_found' } } });
    const bad = await invoke(asset, { route: '/dashboard/assets/{file}', pathParameters: { file: '..%2Fpackage.json' }, key: null });
    expect(bad.status).toBe(400);
  });
});

describe('the dashboard data under faults (fault proxy in front of DynamoDB Local)', () => {
  /** A function instance whose DynamoDB traffic goes through the fault proxy. */
  function faultyDeps(): Deps {
    const config: Config = { ...t.config, endpoints: { ...t.config.endpoints, dynamodb: proxy.url } };
    return createDeps({ config, logger: t.deps.logger, metrics: t.deps.metrics, clock });
  }

  it('answers 503 with Retry-After from /fleet and /events/recent while DynamoDB is unreachable, and 200 after', async () => {
    await registerFleet(t.deps, { count: 2, region: 'fault-a', subnet: 67 });
    const deps = faultyDeps();
    const fleetRoute = makeFleet(deps);
    const recentRoute = makeRecentEvents(deps);
    proxy.startOutage();
    try {
      for (const [handler, route] of [[fleetRoute, '/fleet'], [recentRoute, '/events/recent']] as const) {
        const answer = await invoke(handler, { route, key: PRINCIPAL_KEYS.reader, ...(route === '/fleet' ? { query: { region: 'fault-a' } } : {}) });
        expect({ route, status: answer.status, code: answer.body.error.code, retryAfter: answer.headers['retry-after'] }).toEqual({ route, status: 503, code: 'service.unavailable', retryAfter: '1' });
      }
    } finally {
      proxy.endOutage();
    }
    // The failed reading is not kept: the next request reads again.
    expect((await invoke(fleetRoute, { route: '/fleet', key: PRINCIPAL_KEYS.reader, query: { region: 'fault-a' } })).body.servers).toHaveLength(2);
    expect((await invoke(recentRoute, { route: '/events/recent', key: PRINCIPAL_KEYS.reader })).status).toBe(200);
  });

  it('a feed write lost to the network fails nothing: the batch is done, its events were published, the feed lacks only them', async () => {
    const publishedHere: string[] = [];
    const notifier = makeNotifier(faultyDeps(), { publish: async (events) => void publishedHere.push(...events.map((event) => event.id)) });
    const at = clock();
    const item = {
      endpoint: '10.0.68.1:7777', region: 'fault-b', node: 'node-68', phase: 'active', source: 'v1', podUid: 'pod-68', seq: 1, sentAt: at,
      lastEvent: 'ready', lastHeartbeatAt: at, freshUntil: at + 30_000, version: 1, updatedAt: at, status: 'available', availableAt: 0.5,
      availAll: 'all#0', availRegion: 'fault-b#0',
    };
    const streamArn = `arn:aws:dynamodb:us-east-1:000000000000:table/${t.config.tables.gameServers}/stream/2026-11-27T00:00:00.000`;
    proxy.inject({ match: (request) => request.op === 'PutItem' && request.body.includes(t.config.tables.eventFeed), fault: 'reset-before', times: 20 });
    const answer = await notifier(
      { Records: [{ eventName: 'INSERT', eventSource: 'aws:dynamodb', eventSourceARN: streamArn, dynamodb: { SequenceNumber: '1', Keys: { endpoint: { S: item.endpoint } }, NewImage: marshall(item) as never, StreamViewType: 'NEW_AND_OLD_IMAGES' } }] },
      { functionName: 'notifier', awsRequestId: 'feed-fault' } as never,
    );
    expect(answer).toEqual({ batchItemFailures: [] });
    expect(publishedHere).toEqual(['gs:10.0.68.1:7777:1:gs.available']);
    const feed = (await invoke(makeRecentEvents(t.deps), { route: '/events/recent', key: PRINCIPAL_KEYS.reader, query: { limit: '200' } })).body.events;
    expect(feed.map((event: { id: string }) => event.id)).not.toContain('gs:10.0.68.1:7777:1:gs.available');
    expect(proxy.stats().faults['reset-before']).toBeGreaterThan(0);
  });
});
