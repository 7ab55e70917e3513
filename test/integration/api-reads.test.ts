import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poolPosition } from '../../lib/game-servers/availability-keys';
import { makeHandler as makeList } from '../../functions/get-available-gs';
import { makeHandler as makeGetGs } from '../../functions/get-gs';
import { makeHandler as makeListLb } from '../../functions/get-available-lb';
import { makeHandler as makeInventory } from '../../functions/inventory';
import { makeHandler as makeOpenApi } from '../../functions/openapi';
import catalogue from '../../infra/functions.cjs';
import { makeHandler as makeClaim } from '../../functions/claim-gs';
import { makeHandler as makeHealth } from '../../functions/health';
import { applyLifecycleEvent } from '../../lib/ingestion/apply-lifecycle-event';
import { gsEvent, lbEvent } from '../fixtures/events';
import { API_KEYS_ENV, KEYS, invoke } from '../fixtures/http';
import { registerFleet } from '../fixtures/servers';
import { createTestStack, manualClock, type TestStack } from '../setup/stack';
import { HTTP_ROUTE_NAMES, ROUTE_SCHEMAS, type RouteName } from '../../lib/http/routes';
import { loadRoutes } from '../../scripts/local/http-server';
import { dashboardBuild } from '../../lib/dashboard-assets';

const clock = manualClock();
let t: TestStack;
let list: ReturnType<typeof makeList>;

beforeAll(async () => {
  t = await createTestStack({ clock, env: { API_KEYS: API_KEYS_ENV, AVAILABILITY_SHARDS: '3' } });
  list = makeList(t.deps);
});
afterAll(async () => t?.destroy());

const endpointsOf = (body: { servers: Array<{ endpoint: string }> }) => body.servers.map((s) => s.endpoint);

describe('GET /get-available-gs', () => {
  it('lists a region\'s available servers across all shards, in pool-position order, up to limit', async () => {
    const endpoints = await registerFleet(t.deps, { count: 12, region: 'eu-north', group: 'g1', subnet: 1 });
    const all = await invoke(list, { route: '/get-available-gs', query: { region: 'eu-north', limit: '100' }, key: KEYS.reader });
    expect(all.status).toBe(200);
    expect([...endpointsOf(all.body)].sort()).toEqual([...endpoints].sort());
    const limited = await invoke(list, { route: '/get-available-gs', query: { region: 'eu-north', limit: '5' } });
    const byPosition = [...endpoints].sort((a, b) => poolPosition(a, `pod-${a}`) - poolPosition(b, `pod-${b}`));
    expect(endpointsOf(limited.body)).toEqual(byPosition.slice(0, 5));
    expect(limited.body.servers[0]).toMatchObject({ region: 'eu-north', group: 'g1', status: 'available', lastHeartbeatAt: new Date(clock()).toISOString() });
  });

  it('defaults to 10 servers', async () => {
    const response = await invoke(list, { route: '/get-available-gs', query: { region: 'eu-north' } });
    expect(response.body.servers).toHaveLength(10);
  });

  it('filters by group and by every given label', async () => {
    await registerFleet(t.deps, { count: 3, region: 'eu-west', group: 'ranked', labels: { map: 'dust', mode: 'ranked' }, subnet: 2 });
    const casual = await registerFleet(t.deps, { count: 2, region: 'eu-west', group: 'casual', labels: { map: 'dust', mode: 'casual' }, subnet: 3 });
    const byGroup = await invoke(list, { route: '/get-available-gs', query: { region: 'eu-west', group: 'casual' } });
    expect([...endpointsOf(byGroup.body)].sort()).toEqual([...casual].sort());
    const byLabels = await invoke(list, { route: '/get-available-gs', query: { region: 'eu-west', 'label.map': 'dust', 'label.mode': 'casual' } });
    expect([...endpointsOf(byLabels.body)].sort()).toEqual([...casual].sort());
    const noMatch = await invoke(list, { route: '/get-available-gs', query: { region: 'eu-west', 'label.map': 'nuke' } });
    expect(noMatch.body).toEqual({ servers: [] });
    const groupWithoutRegion = await invoke(list, { route: '/get-available-gs', query: { group: 'casual', limit: '100' } });
    expect([...endpointsOf(groupWithoutRegion.body)].sort()).toEqual([...casual].sort());
  });

  it('distinctNodes=true returns at most one server per node', async () => {
    await registerFleet(t.deps, { count: 9, nodes: 3, region: 'ap-south', subnet: 4 });
    const response = await invoke(list, { route: '/get-available-gs', query: { region: 'ap-south', distinctNodes: 'true', limit: '10' } });
    expect(response.body.servers).toHaveLength(3);
    expect(new Set(response.body.servers.map((s: { node: string }) => s.node)).size).toBe(3);
  });

  it('an empty pool is 200 with no servers', async () => {
    const response = await invoke(list, { route: '/get-available-gs', query: { region: 'nowhere' } });
    expect(response).toMatchObject({ status: 200, body: { servers: [] } });
  });

  it('leaves out claimed servers until their lease runs out', async () => {
    const [endpoint] = await registerFleet(t.deps, { count: 1, region: 'sa-east', subnet: 5 });
    const claimed = await invoke(makeClaim(t.deps), { method: 'POST', route: '/claim-gs', body: { claimId: 'reads-1', region: 'sa-east', leaseSeconds: 10 } });
    expect(claimed.status).toBe(200);
    expect((await invoke(list, { route: '/get-available-gs', query: { region: 'sa-east' } })).body.servers).toEqual([]);
    clock.advance(10_001);
    await applyLifecycleEvent(t.deps, gsEvent({ endpoint: endpoint!, podUid: `pod-${endpoint}`, node: 'node-5-0', region: 'sa-east', event: 'heartbeat', seq: 2, sentAt: clock() }));
    const again = await invoke(list, { route: '/get-available-gs', query: { region: 'sa-east' } });
    expect(endpointsOf(again.body)).toEqual([endpoint]);
    expect(again.body.servers[0].status).toBe('available');
  });
});

describe('GET /gs/{endpoint}', () => {
  it('returns one server, URL-encoded or literal, and 404 for an unknown one', async () => {
    const [endpoint] = await registerFleet(t.deps, { count: 1, region: 'us-east', subnet: 6 });
    const getGs = makeGetGs(t.deps);
    for (const raw of [encodeURIComponent(endpoint!), endpoint!]) {
      const found = await invoke(getGs, { route: '/gs/{endpoint}', pathParameters: { endpoint: raw }, key: KEYS.reader });
      expect(found).toMatchObject({ status: 200, body: { endpoint, region: 'us-east', status: 'available', node: 'node-6-0' } });
    }
    const missing = await invoke(getGs, { route: '/gs/{endpoint}', pathParameters: { endpoint: '10.99.99.99:1' } });
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'gs.not_found' } } });
  });
});

describe('GET /get-available-lb', () => {
  it('lists active, fresh load balancers by region and leaves out terminated ones', async () => {
    const now = clock();
    await applyLifecycleEvent(t.deps, lbEvent({ endpoint: 'lb-a.example.com:41000', region: 'us-west', podUid: 'a', sentAt: now }));
    await applyLifecycleEvent(t.deps, lbEvent({ endpoint: 'lb-b.example.com:41000', region: 'eu-west', podUid: 'b', sentAt: now }));
    await applyLifecycleEvent(t.deps, lbEvent({ endpoint: 'lb-c.example.com:41000', region: 'us-west', podUid: 'c', sentAt: now, event: 'terminating' }));
    const listLb = makeListLb(t.deps);
    const usWest = await invoke(listLb, { route: '/get-available-lb', query: { region: 'us-west' }, key: KEYS.loadBalancer });
    expect(usWest.body).toEqual({
      loadBalancers: [
        { endpoint: 'lb-a.example.com:41000', region: 'us-west', node: 'node-lb', status: 'active', targets: ['10.0.0.1:7777', '10.0.0.2:7777'], lastHeartbeatAt: new Date(now).toISOString() },
      ],
    });
    const everywhere = await invoke(listLb, { route: '/get-available-lb' });
    expect(everywhere.body.loadBalancers.map((lb: { endpoint: string }) => lb.endpoint).sort()).toEqual(['lb-a.example.com:41000', 'lb-b.example.com:41000']);
  });
});

describe('GET /inventory', () => {
  it('counts servers by status and region', async () => {
    const fresh = await createTestStack({ clock, env: { API_KEYS: API_KEYS_ENV, AVAILABILITY_SHARDS: '2' } });
    try {
      const endpoints = await registerFleet(fresh.deps, { count: 5, region: 'r1', subnet: 7 });
      await registerFleet(fresh.deps, { count: 2, region: 'r2', subnet: 8 });
      await applyLifecycleEvent(fresh.deps, gsEvent({ endpoint: endpoints[0]!, podUid: `pod-${endpoints[0]}`, node: 'node-7-0', region: 'r1', event: 'draining', seq: 2, sentAt: clock() }));
      await applyLifecycleEvent(fresh.deps, gsEvent({ endpoint: endpoints[1]!, podUid: `pod-${endpoints[1]}`, node: 'node-7-1', region: 'r1', event: 'terminated', seq: 2, sentAt: clock() }));
      expect((await invoke(makeClaim(fresh.deps), { method: 'POST', route: '/claim-gs', body: { claimId: 'inv-1', region: 'r2' } })).status).toBe(200);
      const response = await invoke(makeInventory(fresh.deps), { route: '/inventory', key: KEYS.reader });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        total: 7,
        byStatus: { available: 4, claimed: 1, busy: 0, draining: 1, terminated: 1 },
        byRegion: { r1: { available: 3, draining: 1, terminated: 1 }, r2: { available: 1, claimed: 1 } },
        stale: 0,
      });
    } finally {
      await fresh.destroy();
    }
  });
});

describe('GET /openapi.json and /health', () => {
  it('serves an OpenAPI 3.1 document describing every route', async () => {
    const response = await invoke(makeOpenApi(t.deps), { route: '/openapi.json', key: KEYS.reader });
    expect(response.status).toBe(200);
    expect(response.body.openapi).toBe('3.1.0');
    // One operation per HTTP route of the registry (infra/functions.cjs), with its summary; public
    // routes need no key, every other one the document's API key.
    const operations = Object.entries(response.body.paths as Record<string, Record<string, { summary: string; security?: unknown[] }>>).flatMap(
      ([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ route: `${method.toUpperCase()} ${path}`, summary: operation.summary, security: operation.security })),
    );
    expect(operations).toEqual(
      catalogue.flatMap((definition) =>
        definition.http ? [{ route: `${definition.http.method} ${definition.http.path}`, summary: definition.http.summary, security: definition.http.public ? [] : undefined }] : [],
      ),
    );
    expect(response.body.paths['/claims/{claimId}/renew'].post.parameters.map((parameter: { name: string; in: string }) => `${parameter.in}:${parameter.name}`)).toEqual(['path:claimId']);
    expect(response.body.components.schemas.ClaimRequest.required).toEqual(['claimId']);
    expect(response.body.components.schemas.Claim.properties.servers.items).toEqual({ $ref: '#/components/schemas/GameServer' });
    expect(response.body.components.schemas.GameServer.properties.status.enum).toEqual(['available', 'claimed', 'busy', 'draining', 'terminated']);
  });

  it('health answers without a key', async () => {
    expect(await invoke(makeHealth(t.deps), { route: '/health', key: null })).toMatchObject({ status: 200, body: { status: 'ok' } });
  });
});

describe('the response schemas of the route registry (lib/http/routes.ts), which the OpenAPI document publishes', () => {
  it('describe every route\'s real 200 answers: one call per route, each body accepted by its schema', async () => {
    const handlers = Object.fromEntries((await loadRoutes(t.deps)).map((route) => [route.functionName, route.handler]));
    const [first, second, third] = await registerFleet(t.deps, { count: 3, region: 'schema-check', group: 'sc', subnet: 9 });
    // Held by set-gs-busy: in a group of its own, so neither the claim nor its replacement takes it.
    const [holdTarget] = await registerFleet(t.deps, { count: 1, region: 'schema-check', group: 'sc-hold', subnet: 10 });
    await applyLifecycleEvent(t.deps, lbEvent({ endpoint: 'lb-s.example.com:41000', region: 'schema-check', podUid: 's', sentAt: clock() }));
    const claimPath = { claimId: 'schema-claim' };
    const calls: Array<[RouteName, Parameters<typeof invoke>[1]]> = [
      ['health', { route: '/health', key: null }],
      ['get-available-gs', { route: '/get-available-gs', query: { region: 'schema-check' } }],
      ['get-gs', { route: '/gs/{endpoint}', pathParameters: { endpoint: first! } }],
      ['get-available-lb', { route: '/get-available-lb', query: { region: 'schema-check' } }],
      ['inventory', { route: '/inventory' }],
      ['openapi', { route: '/openapi.json' }],
      ['asyncapi', { route: '/events/asyncapi.json' }],
      ['fleet', { route: '/fleet', query: { region: 'schema-check' } }],
      ['recent-events', { route: '/events/recent', query: { limit: '10' } }],
      ['dashboard', { route: '/dashboard', key: null }],
      ['dashboard-asset', { route: '/dashboard/assets/{file}', pathParameters: { file: Object.keys(dashboardBuild().assets)[0]! }, key: null }],
      ['claim-gs', { method: 'POST', route: '/claim-gs', body: { claimId: 'schema-claim', region: 'schema-check', group: 'sc' } }],
      ['get-claim', { route: '/claims/{claimId}', pathParameters: claimPath }],
      ['confirm-claim', { method: 'POST', route: '/claims/{claimId}/confirm', pathParameters: claimPath }],
      ['renew-claim', { method: 'POST', route: '/claims/{claimId}/renew', pathParameters: claimPath, body: { seconds: 60 } }],
      ['replace-claim-server', { method: 'POST', route: '/claims/{claimId}/replace', pathParameters: claimPath, body: { lost: 'LOST' } }],
      ['release-claim', { method: 'POST', route: '/claims/{claimId}/release', pathParameters: claimPath }],
      ['set-gs-busy', { method: 'POST', route: '/set-gs-busy/{endpoint}', pathParameters: { endpoint: holdTarget! }, body: { claimId: 'schema-hold' } }],
      ['set-gs-available', { method: 'POST', route: '/set-gs-available/{endpoint}', pathParameters: { endpoint: holdTarget! }, body: { claimId: 'schema-hold' } }],
    ];
    expect(calls.map(([name]) => name).sort()).toEqual([...HTTP_ROUTE_NAMES].sort());
    const refused: string[] = [];
    for (const [name, request] of calls) {
      if (name === 'replace-claim-server') {
        // The claim's server terminates: it is lost, and the replace has one to take its place.
        const claimed = (await invoke(handlers['get-claim']!, { route: '/claims/{claimId}', pathParameters: claimPath })).body.servers[0].endpoint as string;
        await applyLifecycleEvent(t.deps, gsEvent({ endpoint: claimed, podUid: `pod-${claimed}`, region: 'schema-check', group: 'sc', node: `node-9-${[first, second, third].indexOf(claimed)}`, event: 'terminating', seq: 2, sentAt: clock() }));
        request.body = { lost: claimed, region: 'schema-check', group: 'sc' };
      }
      const response = await invoke(handlers[name]!, request);
      expect(`${name}: ${response.status}`).toBe(`${name}: 200`);
      const schema = (ROUTE_SCHEMAS[name] as { response?: import('zod').ZodType }).response;
      const parsed = schema?.safeParse(response.body);
      if (parsed && !parsed.success) refused.push(`${name}: ${parsed.error.message}`);
    }
    expect(refused).toEqual([]);
  });

  it('a schema refuses an answer that breaks it (the check above can fail)', () => {
    expect(ROUTE_SCHEMAS['set-gs-available'].response.safeParse({ released: 'yes' }).success).toBe(false);
    expect(ROUTE_SCHEMAS['claim-gs'].response.safeParse({ claimId: 'c', status: 'leased', servers: [], leaseExpiresAt: 'soon', expired: false, holdSeconds: 1, createdAt: new Date(0).toISOString(), replayed: false }).success).toBe(false);
  });
});
