import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardBuild } from '../../lib/dashboard-assets';
import { MAX_BODY_BYTES } from '../../lib/http';
import { startHttpServer } from '../../scripts/local/http-server';
import { API_KEYS_ENV, KEYS, invoke, type ApiRequest } from '../fixtures/http';
import { acceptedWrites, HTTP_ROUTES, loadHandlers, observedDeps, snapshotTables, type HttpLambda } from '../fixtures/guard';
import { registerFleet } from '../fixtures/servers';
import { createTestStack, type TestStack } from '../setup/stack';

/**
 * Promise 8: every route refuses bad path, query and body input with the right 4xx and
 * `{ error: { code, message } }`, never a 500, and never writes: each case leaves every table
 * byte-identical and sends not a single DynamoDB command (validation comes before any I/O).
 */

let t: TestStack;
let observed: ReturnType<typeof observedDeps>;
let handlers: Record<string, HttpLambda>;
let baseline: Awaited<ReturnType<typeof snapshotTables>>;
let seeded: { endpoint: string; claimId: string };

beforeAll(async () => {
  t = await createTestStack({ env: { API_KEYS: API_KEYS_ENV } });
  observed = observedDeps(t);
  handlers = await loadHandlers(observed.deps);
  // Something for a wrongly accepted request to change: available servers and a leased claim.
  const endpoints = await registerFleet(t.deps, { count: 4, nodes: 2, group: 'seed', subnet: 9 });
  const claim = await invoke(handlers['claim-gs']!, { method: 'POST', route: '/claim-gs', body: { claimId: 'seed-claim', group: 'seed' } });
  expect(claim.status).toBe(200);
  seeded = { endpoint: endpoints[3]!, claimId: 'seed-claim' };
  baseline = await snapshotTables(t);
  observed.sent.length = 0;
});
afterAll(async () => {
  observed?.destroy();
  await t?.destroy();
});

const routeOf = (name: string) => {
  const route = HTTP_ROUTES.find((r) => r.name === name);
  if (!route) throw new Error(`no route ${name} in infra/functions.cjs`);
  return route;
};

/** A valid request to the route (valid path parameters, no query, no body), to be spoilt by a case. */
function validRequest(name: string): ApiRequest {
  const route = routeOf(name);
  const pathParameters: Record<string, string> = {};
  if (route.path.includes('{endpoint}')) pathParameters.endpoint = seeded.endpoint;
  if (route.path.includes('{claimId}')) pathParameters.claimId = seeded.claimId;
  if (route.path.includes('{file}')) pathParameters.file = Object.keys(dashboardBuild().assets)[0]!;
  return { method: route.method, route: route.path, ...(Object.keys(pathParameters).length ? { pathParameters } : {}) };
}

interface BadInput {
  route: string;
  name: string;
  request: Partial<ApiRequest>;
  status: number;
  code: string;
}

const BIG = 'x'.repeat(MAX_BODY_BYTES + 1);
const json = 'application/json';

// ---------- building blocks shared by several routes ----------

/** Path segments as API Gateway hands them over: still URL-encoded. */
const BAD_ENDPOINTS: Array<[string, string]> = [
  ['an IPv4 octet above 255', '256.1.1.1:7777'],
  ['three octets', '10.0.0:7777'],
  ['five octets', '1.2.3.4.5:7777'],
  ['a leading-zero octet', '01.2.3.4:7777'],
  ['port 0', '10.0.0.1:0'],
  ['port 65536', '10.0.0.1:65536'],
  ['a leading-zero port', '10.0.0.1:07777'],
  ['a negative port', '10.0.0.1:-1'],
  ['an empty port', '10.0.0.1:'],
  ['no port', '10.0.0.1'],
  ['no host', ':7777'],
  ['two ports', '10.0.0.1:7777:7778'],
  ['an unbracketed IPv6 address', '::1:7777'],
  ['garbage', 'not%20an%20endpoint'],
  ['markup', '%3Cscript%3E:80'],
  ['an encoded path traversal', '..%2F..%2Fetc%2Fpasswd:80'],
  ['an encoded NUL byte', '10.0.0.1%00:7777'],
  ['an over-long DNS label', `${'a'.repeat(64)}.example.com:7777`],
  ['an over-long endpoint (301 characters)', `${'a.'.repeat(147)}abc.com:80`],
  ['an empty endpoint', ''],
];

const BAD_ENCODINGS: Array<[string, string]> = [
  ['a %ZZ escape', '10.0.0.1%ZZ7777'],
  ['a truncated escape', '10.0.0.1%3'],
  ['an invalid UTF-8 sequence', '%C3%28:7777'],
];

const BAD_CLAIM_IDS: Array<[string, string]> = [
  ['a space', 'has space'],
  ['a slash', 'a%2Fb'],
  ['a leading dash', '-leading'],
  ['a leading dot', '.hidden'],
  ['non-ASCII letters', 'caf%C3%A9'],
  ['129 characters', 'c'.repeat(129)],
  ['an empty id', ''],
  ['JSON', '%7B%22a%22%3A1%7D'],
];

function endpointCases(route: string): BadInput[] {
  return [
    ...BAD_ENDPOINTS.map(([name, endpoint]) => ({
      route,
      name: `endpoint with ${name}`,
      request: { pathParameters: { endpoint } },
      status: 400,
      code: 'request.invalid_path',
    })),
    ...BAD_ENCODINGS.map(([name, endpoint]) => ({
      route,
      name: `endpoint with ${name}`,
      request: { pathParameters: { endpoint } },
      status: 400,
      code: 'request.invalid_path',
    })),
  ];
}

function claimIdCases(route: string): BadInput[] {
  return [
    ...BAD_CLAIM_IDS.map(([name, claimId]) => ({
      route,
      name: `claim id with ${name}`,
      request: { pathParameters: { claimId } },
      status: 400,
      code: 'request.invalid_path',
    })),
    { route, name: 'claim id with a %ZZ escape', request: { pathParameters: { claimId: 'abc%ZZ' } }, status: 400, code: 'request.invalid_path' },
  ];
}

const unknownQuery = (route: string): BadInput[] => [
  { route, name: 'an unknown query parameter', request: { query: { verbose: 'true' } }, status: 400, code: 'request.invalid_query' },
  { route, name: 'a __proto__ query parameter', request: { query: { ['__proto__']: 'x' } }, status: 400, code: 'request.invalid_query' },
];

/** Bodies any body-less or JSON route must refuse. */
function bodyCases(route: string, validBody: unknown): BadInput[] {
  const valid = JSON.stringify(validBody ?? {});
  return [
    { route, name: 'malformed JSON', request: { rawBody: '{"claimId":' }, status: 400, code: 'request.invalid_json' },
    { route, name: 'a body that is not JSON at all', request: { rawBody: 'claimId=abc' }, status: 400, code: 'request.invalid_json' },
    { route, name: 'a body over 16 KiB', request: { rawBody: `{"claimId":"${BIG}"}` }, status: 413, code: 'request.too_large' },
    { route, name: 'a text/plain body', request: { rawBody: valid, headers: { 'content-type': 'text/plain' } }, status: 415, code: 'request.unsupported_media_type' },
    {
      route,
      name: 'a form-encoded body',
      request: { rawBody: 'claimId=abc', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      status: 415,
      code: 'request.unsupported_media_type',
    },
    { route, name: 'a JSON look-alike media type', request: { rawBody: valid, headers: { 'content-type': 'application/jsonp' } }, status: 415, code: 'request.unsupported_media_type' },
    { route, name: 'a JSON array body', request: { body: [validBody ?? {}] }, status: 400, code: 'request.invalid_body' },
    { route, name: 'a JSON null body', request: { rawBody: 'null' }, status: 400, code: 'request.invalid_body' },
    { route, name: 'a JSON string body', request: { rawBody: '"claim"' }, status: 400, code: 'request.invalid_body' },
    {
      route,
      name: 'an unknown body field',
      request: { body: { ...(validBody as object), unexpected: true } },
      status: 400,
      code: 'request.invalid_body',
    },
    {
      route,
      name: 'a __proto__ body field',
      request: { rawBody: `{${valid.slice(1, -1)}${valid === '{}' ? '' : ','}"__proto__":{"polluted":true}}` },
      status: 400,
      code: 'request.invalid_body',
    },
    {
      route,
      name: 'a constructor.prototype body field',
      request: { rawBody: '{"constructor":{"prototype":{"polluted":true}}}' },
      status: 400,
      code: 'request.invalid_body',
    },
  ];
}

const claimBody = { claimId: 'bad-input-claim', group: 'seed' };
const claimCase = (name: string, body: Record<string, unknown>): BadInput => ({
  route: 'claim-gs',
  name,
  request: { body },
  status: 400,
  code: 'request.invalid_body',
});

const listCase = (name: string, query: Record<string, string>, route = 'get-available-gs'): BadInput => ({
  route,
  name,
  request: { query },
  status: 400,
  code: 'request.invalid_query',
});

const CASES: BadInput[] = [
  // GET /gs/{endpoint}
  ...endpointCases('get-gs'),
  ...unknownQuery('get-gs'),
  { route: 'get-gs', name: 'a body on a GET', request: { body: { endpoint: '10.0.0.1:7777' } }, status: 400, code: 'request.invalid_body' },

  // POST /set-gs-busy/{endpoint}
  ...endpointCases('set-gs-busy'),
  ...unknownQuery('set-gs-busy'),
  ...bodyCases('set-gs-busy', { claimId: 'busy-1' }),
  { route: 'set-gs-busy', name: 'a numeric claimId', request: { body: { claimId: 5 } }, status: 400, code: 'request.invalid_body' },
  { route: 'set-gs-busy', name: 'a claimId with a space', request: { body: { claimId: 'has space' } }, status: 400, code: 'request.invalid_body' },
  { route: 'set-gs-busy', name: 'a 129-character claimId', request: { body: { claimId: 'c'.repeat(129) } }, status: 400, code: 'request.invalid_body' },
  { route: 'set-gs-busy', name: 'holdSeconds 0', request: { body: { claimId: 'busy-1', holdSeconds: 0 } }, status: 400, code: 'request.invalid_body' },
  { route: 'set-gs-busy', name: 'holdSeconds as a string', request: { body: { claimId: 'busy-1', holdSeconds: '60' } }, status: 400, code: 'request.invalid_body' },

  // POST /claim-gs
  ...unknownQuery('claim-gs'),
  ...bodyCases('claim-gs', claimBody),
  { route: 'claim-gs', name: 'no body', request: {}, status: 400, code: 'request.invalid_body' },
  claimCase('no claimId', { group: 'seed' }),
  claimCase('an empty claimId', { ...claimBody, claimId: '' }),
  claimCase('a claimId with a slash', { ...claimBody, claimId: 'a/b' }),
  claimCase('a numeric claimId', { ...claimBody, claimId: 42 }),
  claimCase('count 0', { ...claimBody, count: 0 }),
  claimCase('count 11', { ...claimBody, count: 11 }),
  claimCase('count -1', { ...claimBody, count: -1 }),
  claimCase('count 1.5', { ...claimBody, count: 1.5 }),
  claimCase('count as a string', { ...claimBody, count: '2' }),
  claimCase('count null', { ...claimBody, count: null }),
  claimCase('count 1e308', { ...claimBody, count: 1e308 }),
  claimCase('leaseSeconds 0', { ...claimBody, leaseSeconds: 0 }),
  claimCase('leaseSeconds 3601', { ...claimBody, leaseSeconds: 3601 }),
  claimCase('leaseSeconds 2.5', { ...claimBody, leaseSeconds: 2.5 }),
  claimCase('leaseSeconds as a string', { ...claimBody, leaseSeconds: '60' }),
  claimCase('holdSeconds 0', { ...claimBody, holdSeconds: 0 }),
  claimCase('holdSeconds 2.5', { ...claimBody, holdSeconds: 2.5 }),
  claimCase('holdSeconds over 30 days', { ...claimBody, holdSeconds: 30 * 86_400 + 1 }),
  claimCase('holdSeconds as a string', { ...claimBody, holdSeconds: '3600' }),
  claimCase('an upper-case region', { ...claimBody, region: 'US-WEST' }),
  claimCase('a region with a space', { ...claimBody, region: 'us west' }),
  claimCase('a numeric region', { ...claimBody, region: 1 }),
  claimCase('a group with a slash', { ...claimBody, group: 'a/b' }),
  claimCase('a 129-character group', { ...claimBody, group: 'g'.repeat(129) }),
  claimCase('distinctNodes as a string', { ...claimBody, distinctNodes: 'yes' }),
  claimCase('labels as a list', { ...claimBody, labels: ['map'] }),
  claimCase('a numeric label value', { ...claimBody, labels: { map: 1 } }),
  claimCase('a label key with a space', { ...claimBody, labels: { 'game map': 'dust' } }),
  claimCase('a __proto__ label key', { ...claimBody, labels: JSON.parse('{"__proto__":"x"}') }),
  claimCase('a 257-character label value', { ...claimBody, labels: { map: 'm'.repeat(257) } }),
  claimCase('17 labels', { ...claimBody, labels: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }),

  // GET /get-available-gs
  listCase('limit 0', { limit: '0' }),
  listCase('limit 101', { limit: '101' }),
  listCase('limit -1', { limit: '-1' }),
  listCase('limit 1.5', { limit: '1.5' }),
  listCase('limit abc', { limit: 'abc' }),
  listCase('limit Infinity', { limit: 'Infinity' }),
  listCase('distinctNodes=yes', { distinctNodes: 'yes' }),
  listCase('an upper-case region', { region: 'US-WEST' }),
  listCase('a 65-character region', { region: 'r'.repeat(65) }),
  listCase('a group with a space', { group: 'a b' }),
  listCase('a 257-character value', { region: 'r'.repeat(257) }),
  listCase('an unknown parameter', { regoin: 'us-west' }),
  listCase('a __proto__ parameter', { ['__proto__']: 'x' }),
  listCase('a constructor parameter', { constructor: 'x' }),
  listCase('an empty label key', { 'label.': 'x' }),
  listCase('a label key with a space', { 'label.game map': 'dust' }),
  listCase('a label key of 64 characters', { [`label.${'k'.repeat(64)}`]: 'v' }),
  listCase('a 257-character label value', { 'label.map': 'm'.repeat(257) }),
  listCase('17 label filters', Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`label.k${i}`, 'v']))),
  { route: 'get-available-gs', name: 'a body on a GET', request: { body: { limit: 5 } }, status: 400, code: 'request.invalid_body' },

  // GET /get-available-lb
  listCase('limit 0', { limit: '0' }, 'get-available-lb'),
  listCase('limit 1001', { limit: '1001' }, 'get-available-lb'),
  listCase('limit 2.5', { limit: '2.5' }, 'get-available-lb'),
  listCase('an upper-case region', { region: 'EU' }, 'get-available-lb'),
  listCase('an unknown parameter', { group: 'seed' }, 'get-available-lb'),
  listCase('a __proto__ parameter', { ['__proto__']: 'x' }, 'get-available-lb'),

  // GET /claims/{claimId}, POST /claims/{claimId}/confirm, POST /claims/{claimId}/release
  ...claimIdCases('get-claim'),
  ...unknownQuery('get-claim'),
  ...claimIdCases('confirm-claim'),
  ...unknownQuery('confirm-claim'),
  ...bodyCases('confirm-claim', undefined),
  ...claimIdCases('release-claim'),
  ...unknownQuery('release-claim'),
  ...bodyCases('release-claim', undefined),

  // POST /claims/{claimId}/renew
  ...claimIdCases('renew-claim'),
  ...unknownQuery('renew-claim'),
  ...bodyCases('renew-claim', { seconds: 60 }),
  { route: 'renew-claim', name: 'seconds 0', request: { body: { seconds: 0 } }, status: 400, code: 'request.invalid_body' },
  { route: 'renew-claim', name: 'seconds 1.5', request: { body: { seconds: 1.5 } }, status: 400, code: 'request.invalid_body' },
  { route: 'renew-claim', name: 'seconds as a string', request: { body: { seconds: '60' } }, status: 400, code: 'request.invalid_body' },
  { route: 'renew-claim', name: 'seconds over 30 days', request: { body: { seconds: 30 * 86_400 + 1 } }, status: 400, code: 'request.invalid_body' },

  // GET /inventory, GET /openapi.json, GET /health
  ...unknownQuery('inventory'),
  { route: 'inventory', name: 'a body on a GET', request: { body: { region: 'x' } }, status: 400, code: 'request.invalid_body' },
  ...unknownQuery('openapi'),
  ...unknownQuery('health'),
  { route: 'health', name: 'malformed JSON', request: { rawBody: '{' }, status: 400, code: 'request.invalid_json' },
];

/** Routes added to the catalogue by others get their cases here (see the meta-test below). */
const EXTRA_ROUTES: Record<string, () => BadInput[]> = {
  'set-gs-available': () => [
    ...endpointCases('set-gs-available'),
    ...unknownQuery('set-gs-available'),
    ...bodyCases('set-gs-available', { claimId: 'busy-1' }),
    { route: 'set-gs-available', name: 'no body', request: {}, status: 400, code: 'request.invalid_body' },
    { route: 'set-gs-available', name: 'a numeric claimId', request: { body: { claimId: 7 } }, status: 400, code: 'request.invalid_body' },
  ],
  'replace-claim-server': () => [
    ...claimIdCases('replace-claim-server'),
    ...unknownQuery('replace-claim-server'),
    ...bodyCases('replace-claim-server', { lost: '10.0.9.1:7777' }),
    { route: 'replace-claim-server', name: 'no body', request: {}, status: 400, code: 'request.invalid_body' },
    { route: 'replace-claim-server', name: 'lost not an endpoint', request: { body: { lost: 'nope' } }, status: 400, code: 'request.invalid_body' },
  ],
  asyncapi: () => [...unknownQuery('asyncapi')],
  fleet: () => [
    ...unknownQuery('fleet'),
    { route: 'fleet', name: 'a limit (the fleet has none)', request: { query: { limit: '10' } }, status: 400, code: 'request.invalid_query' },
    { route: 'fleet', name: 'an upper-case region', request: { query: { region: 'EU' } }, status: 400, code: 'request.invalid_query' },
    { route: 'fleet', name: 'a body on a GET', request: { body: { region: 'x' } }, status: 400, code: 'request.invalid_body' },
  ],
  'recent-events': () => [
    ...unknownQuery('recent-events'),
    { route: 'recent-events', name: 'limit 0', request: { query: { limit: '0' } }, status: 400, code: 'request.invalid_query' },
    { route: 'recent-events', name: 'limit 201', request: { query: { limit: '201' } }, status: 400, code: 'request.invalid_query' },
    { route: 'recent-events', name: 'limit 2.5', request: { query: { limit: '2.5' } }, status: 400, code: 'request.invalid_query' },
  ],
  dashboard: () => [
    ...unknownQuery('dashboard'),
    // The key belongs in the fragment, which browsers never send: a query string is refused.
    { route: 'dashboard', name: 'a key in the query string', request: { query: { key: 'ro-local-key' } }, status: 400, code: 'request.invalid_query' },
  ],
  'dashboard-asset': () => [
    ...unknownQuery('dashboard-asset'),
    ...[
      ['a path outside the assets', '..%2Fpackage.json'],
      ['a name without its hash', 'app.js'],
      ['an upper-case hash', 'app.0123456789ABCDEF.js'],
      ['another extension', 'app.0123456789abcdef.map'],
    ].map(([name, file]) => ({ route: 'dashboard-asset', name: name!, request: { pathParameters: { file: file! } }, status: 400, code: 'request.invalid_path' })),
  ],
};
for (const [route, cases] of Object.entries(EXTRA_ROUTES)) if (HTTP_ROUTES.some((r) => r.name === route)) CASES.push(...cases());

describe('bad input on every route: the right 4xx, the error shape, no DynamoDB call, tables unchanged', () => {
  it.each(CASES.map((c) => [c.route, c.name, c] as const))('%s refuses %s', async (_route, _name, testCase) => {
    const request: ApiRequest = { ...validRequest(testCase.route), ...testCase.request };
    if (testCase.request.headers) request.headers = { 'content-type': json, ...testCase.request.headers };
    observed.sent.length = 0;
    const response = await invoke(handlers[testCase.route]!, request);
    expect({ status: response.status, code: response.body?.error?.code }).toEqual({ status: testCase.status, code: testCase.code });
    expect(Object.keys(response.body)).toEqual(['error']);
    expect(typeof response.body.error.message).toBe('string');
    expect(response.body.error.message.length).toBeGreaterThan(0);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(observed.sent).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await snapshotTables(t)).toEqual(baseline);
  });
});

describe('the per-deployment lease cap (MAX_LEASE_SECONDS)', () => {
  it('refuses a lease above the configured maximum with 400 claim.lease_too_long, before any DynamoDB call', async () => {
    const capped = observedDeps(t, { config: { maxLeaseSeconds: 120 } });
    try {
      const claimGs = (await loadHandlers(capped.deps))['claim-gs']!;
      const over = await invoke(claimGs, { method: 'POST', route: '/claim-gs', body: { claimId: 'lease-cap-1', group: 'no-such-group', leaseSeconds: 121 } });
      expect(over.body).toEqual({ error: { code: 'claim.lease_too_long', message: 'leaseSeconds may be at most 120' } });
      expect(over.status).toBe(400);
      expect(capped.sent).toEqual([]);
      const at = await invoke(claimGs, { method: 'POST', route: '/claim-gs', body: { claimId: 'lease-cap-2', group: 'no-such-group', leaseSeconds: 120 } });
      expect({ status: at.status, code: at.body.error.code }).toEqual({ status: 409, code: 'gs.none_available' });
      expect(await snapshotTables(t)).toEqual(baseline);
    } finally {
      capped.destroy();
    }
  });
});

describe('catalogue coverage', () => {
  it('has bad-input cases for every HTTP route of infra/functions.cjs, and none for unknown routes', () => {
    const covered = new Set(CASES.map((c) => c.route));
    expect(HTTP_ROUTES.map((r) => r.name).filter((name) => !covered.has(name))).toEqual([]);
    expect([...covered].filter((name) => !HTTP_ROUTES.some((r) => r.name === name))).toEqual([]);
  });

  it('covers path, query and body input wherever a route takes it', () => {
    for (const route of HTTP_ROUTES) {
      const codes = new Set(CASES.filter((c) => c.route === route.name).map((c) => c.code));
      expect(codes.has('request.invalid_query'), route.name).toBe(true);
      if (route.path.includes('{')) expect(codes.has('request.invalid_path'), route.name).toBe(true);
      if (route.method === 'POST') {
        expect([...codes].filter((code) => code !== 'request.invalid_query' && code !== 'request.invalid_path').sort(), route.name).toEqual([
          'request.invalid_body',
          'request.invalid_json',
          'request.too_large',
          'request.unsupported_media_type',
        ]);
      }
    }
  });
});

describe('through the local HTTP server', () => {
  let server: Awaited<ReturnType<typeof startHttpServer>>;
  beforeAll(async () => {
    server = await startHttpServer(observed.deps, { port: 0 });
  });
  afterAll(async () => server?.close());

  const call = async (method: string, path: string, init: { key?: string | null; body?: string; headers?: Record<string, string> } = {}) => {
    const key = init.key === undefined ? KEYS.matchmaker : init.key;
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(init.body ? { 'content-type': json } : {}), ...init.headers },
      ...(init.body ? { body: init.body } : {}),
    });
    return { status: response.status, body: (await response.json()) as any, headers: response.headers };
  };

  it('answers an unknown route with a 404 JSON error', async () => {
    const response = await call('GET', '/no-such-route');
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: { code: 'route.not_found', message: 'No route for GET /no-such-route' } });
  });

  it('answers a wrong method with a 405 JSON error', async () => {
    const response = await call('DELETE', '/claim-gs');
    expect(response.status).toBe(405);
    expect(response.body).toEqual({ error: { code: 'route.method_not_allowed', message: 'DELETE is not allowed on /claim-gs' } });
    expect((await call('GET', '/set-gs-busy/10.0.0.1:7777')).status).toBe(405);
  });

  it('finds a server by its endpoint with a literal colon and with %3A alike', async () => {
    const literal = await call('GET', `/gs/${seeded.endpoint}`, { key: KEYS.reader });
    const encoded = await call('GET', `/gs/${encodeURIComponent(seeded.endpoint)}`, { key: KEYS.reader });
    const lowerEncoded = await call('GET', `/gs/${seeded.endpoint.replace(':', '%3a')}`, { key: KEYS.reader });
    expect(literal.status).toBe(200);
    expect(literal.body.endpoint).toBe(seeded.endpoint);
    expect(encoded.body).toEqual(literal.body);
    expect(lowerEncoded.body).toEqual(literal.body);
  });

  it('refuses bad input end to end with the same errors and writes nothing', async () => {
    const cases: Array<[string, string, { body?: string; headers?: Record<string, string> }, number, string]> = [
      ['GET', '/gs/10.0.0.1%ZZ7777', {}, 400, 'request.invalid_path'],
      ['GET', '/gs/10.0.0.1:65536', {}, 400, 'request.invalid_path'],
      ['GET', '/get-available-gs?limit=0', {}, 400, 'request.invalid_query'],
      ['GET', '/get-available-gs?__proto__=x', {}, 400, 'request.invalid_query'],
      ['POST', '/claim-gs', { body: '{"claimId":"http-1","count":11}' }, 400, 'request.invalid_body'],
      ['POST', '/claim-gs', { body: '{"claimId":' }, 400, 'request.invalid_json'],
      ['POST', '/claim-gs', { body: `{"claimId":"${BIG}"}` }, 413, 'request.too_large'],
      ['POST', '/claim-gs', { body: '{"claimId":"http-2"}', headers: { 'content-type': 'text/plain' } }, 415, 'request.unsupported_media_type'],
      ['POST', `/claims/${'c'.repeat(129)}/confirm`, {}, 400, 'request.invalid_path'],
    ];
    for (const [method, path, init, status, code] of cases) {
      const response = await call(method, path, init);
      expect({ path, status: response.status, code: response.body.error?.code }).toEqual({ path, status, code });
    }
    expect(acceptedWrites(observed.sent)).toEqual([]);
    expect(await snapshotTables(t)).toEqual(baseline);
  });
});

// Last: valid requests may write (a confirm confirms the seeded claim).
describe('the valid base requests', () => {
  it('accepts each route\'s valid base request: the cases fail for the reason they name', async () => {
    // Each route answers its valid base request with something other than a validation error.
    for (const route of HTTP_ROUTES) {
      const request = validRequest(route.name);
      if (route.name === 'claim-gs') request.body = { claimId: 'bad-input-valid', group: 'no-such-group' };
      if (route.name === 'set-gs-available') request.body = { claimId: 'not-the-holder' };
      if (route.name === 'replace-claim-server') request.body = { lost: '10.0.9.1:7777' };
      const response = await invoke(handlers[route.name]!, request);
      expect(`${route.name}: ${response.body?.error?.code ?? response.status}`).not.toMatch(/request\./);
    }
  });
});
