import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyLifecycleEvent } from '../../lib/ingestion/apply-lifecycle-event';
import { MAX_BODY_BYTES } from '../../lib/http';
import { startHttpServer } from '../../scripts/local/http-server';
import { gsEvent, lbEvent } from '../fixtures/events';
import { API_KEYS_ENV, KEYS, apiEvent, invoke, type ApiRequest } from '../fixtures/http';
import { acceptedWrites, HTTP_ROUTES, loadHandlers, observedDeps, snapshotTables, type HttpLambda, type HttpRoute } from '../fixtures/guard';
import { registerFleet } from '../fixtures/servers';
import { createTestStack, type TestStack } from '../setup/stack';
import { dashboardBuild } from '../../lib/dashboard-assets';

/**
 * Property-based fuzzing of every HTTP route through its handler, with API Gateway v2 events made
 * of random path parameters, query strings, headers and bodies (prototype-pollution keys, unicode,
 * very long strings, numbers at the edges, broken encodings, huge and deeply nested bodies),
 * against DynamoDB Local. For every request: no 5xx, a JSON body, the error shape on 4xx, security
 * headers, nothing internal in the answer, no write DynamoDB accepted, no pollution of
 * Object.prototype; a request refused for its input or credentials sends no DynamoDB command at
 * all; the tables are byte-identical after every route's run (and at checkpoints within it).
 *
 * The stage holds data every route can find (busy, draining and claimed servers, a load balancer,
 * a confirmed claim) but nothing any request of the fuzzer may change: no server is available and
 * the seeded claim ids are not among the ones generated. So any accepted write is a defect.
 */

/** Cases per HTTP route; with the server-level cases and the poller's, over 10^4 per run. */
const RUNS_PER_ROUTE = 750;
const SERVER_RUNS = 400;
const CHECKPOINT_EVERY = 150;

let t: TestStack;
let observed: ReturnType<typeof observedDeps>;
let handlers: Record<string, HttpLambda>;
let baseline: Awaited<ReturnType<typeof snapshotTables>>;
const seededEndpoints: string[] = [];
let totalCases = 0;

beforeAll(async () => {
  t = await createTestStack({ env: { API_KEYS: API_KEYS_ENV } });
  observed = observedDeps(t);
  handlers = await loadHandlers(observed.deps);
  const endpoints = await registerFleet(t.deps, { count: 4, nodes: 2, region: 'us-west', group: 'grp1', labels: { map: 'dust' }, subnet: 40 });
  // Two servers leased then confirmed (busy), one set busy directly, one draining.
  const claim = await invoke(handlers['claim-gs']!, { method: 'POST', route: '/claim-gs', body: { claimId: 'seed-fuzz-claim', count: 2, group: 'grp1' } });
  expect(claim.status).toBe(200);
  expect((await invoke(handlers['confirm-claim']!, { method: 'POST', route: '/claims/{claimId}/confirm', pathParameters: { claimId: 'seed-fuzz-claim' } })).status).toBe(200);
  const claimed = new Set(claim.body.servers.map((s: { endpoint: string }) => s.endpoint));
  const [busy, draining] = endpoints.filter((e) => !claimed.has(e));
  expect((await invoke(handlers['set-gs-busy']!, { method: 'POST', route: '/set-gs-busy/{endpoint}', pathParameters: { endpoint: busy! }, body: { claimId: 'seed-fuzz-busy' } })).status).toBe(200);
  await applyLifecycleEvent(t.deps, gsEvent({ endpoint: draining!, podUid: `pod-${draining}`, node: 'node-40-1', event: 'draining', seq: 2, sentAt: t.deps.clock() }));
  await applyLifecycleEvent(t.deps, lbEvent({ endpoint: 'lb-fuzz.example.com:41000', sentAt: t.deps.clock() }));
  seededEndpoints.push(...endpoints, 'lb-fuzz.example.com:41000');
  baseline = await snapshotTables(t);
});
afterAll(async () => {
  observed?.destroy();
  await t?.destroy();
});

// ---------- arbitraries ----------

const NASTY_STRINGS = [
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__', 'valueOf',
  '', ' ', '\u0000', '\n', '\r\n', '%', '%ZZ', '%00', '%2F', '%3A', '%25', '..', '../..', '/', '\\',
  '\uD800', '\uDFFF', 'é', 'ｅ', '🎮', '\u202E', '\uFEFF', 'İ', 'ß',
  "' OR 1=1 --", '<script>alert(1)</script>', '${jndi:ldap://x}', '{{7*7}}', '#endpoint', ':status', 'attribute_not_exists(endpoint)',
  'NaN', 'Infinity', '-Infinity', 'null', 'undefined', 'true', '[]', '{}', '0x10', '1e3', '-0', '00',
];

const edgeNumber = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 2, 9, 10, 11, 99, 100, 101, 999, 1000, 1001, 3599, 3600, 3601, 0.5, 1.5, 1e-9, 1e21, 1e308, -1e308),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, Number.MIN_SAFE_INTEGER, 2 ** 31, 2 ** 32, -(2 ** 31)),
  fc.integer(),
  fc.double(),
);

const longString = fc.oneof(
  fc.integer({ min: 200, max: 5000 }).map((n) => 'a'.repeat(n)),
  fc.tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }), fc.integer({ min: 50, max: 2000 })).map(([s, n]) => s.repeat(n)),
);

const weirdString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: longString },
  { weight: 1, arbitrary: edgeNumber.map(String) },
);

const claimIdLike = fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,20}$/), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{100,140}$/), weirdString);

const hostLike = fc.oneof(fc.ipV4(), fc.ipV4Extended(), fc.domain(), fc.ipV6().map((v) => `[${v}]`), fc.ipV6(), weirdString);
const portLike = fc.oneof(fc.integer({ min: -10, max: 70_000 }).map(String), fc.constantFrom('0', '1', '65535', '65536', '07777', ''), weirdString);
/** The seeded servers (see beforeAll), an unknown one, and spellings of them that are still valid. */
const seededEndpointsArbitrary = ['10.0.40.1:7777', '10.0.40.2:7777', '10.0.40.3:7777', '10.0.40.4:7777', 'lb-fuzz.example.com:41000', '10.9.9.9:7777', 'LB-FUZZ.example.com:41000'];
const endpointLike = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(hostLike, portLike).map(([host, port]) => `${host}:${port}`) },
  { weight: 2, arbitrary: fc.constantFrom(...seededEndpointsArbitrary) },
  { weight: 2, arbitrary: weirdString },
);

/** A path parameter as it reaches the handler: usually URL-encoded, sometimes raw or half-encoded. */
const asPathParameter = (value: fc.Arbitrary<string>) =>
  fc.tuple(value, fc.constantFrom('encoded', 'raw', 'colon-literal', 'double-encoded')).map(([raw, how]) => {
    let encoded: string;
    try {
      encoded = encodeURIComponent(raw);
    } catch {
      encoded = raw; // lone surrogates cannot be encoded: sent raw
    }
    if (how === 'raw') return raw;
    if (how === 'colon-literal') return encoded.replace(/%3A/g, ':');
    if (how === 'double-encoded') return encoded === raw ? raw : encodeURIComponent(encoded);
    return encoded;
  });

/** Mostly `valid`, sometimes `other`: requests must often get past validation to test anything behind it. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<U>, validWeight = 4) =>
  fc.oneof({ weight: validWeight, arbitrary: valid as fc.Arbitrary<T | U> }, { weight: 1, arbitrary: other as fc.Arbitrary<T | U> });

const queryName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('limit', 'region', 'group', 'distinctNodes', 'label.map', 'label.mode') },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'label.__proto__', 'label.constructor', 'label.', 'label..', 'Limit', 'limit ', 'label.map.x') },
  { weight: 1, arbitrary: weirdString },
  { weight: 1, arbitrary: weirdString.map((s) => `label.${s}`) },
);
const queryValue = mostly(fc.constantFrom('us-west', 'grp1', 'dust', 'true', 'false', '1', '5', '100'), fc.oneof(edgeNumber.map(String), weirdString), 2);
/** Built from pairs so that names such as `__proto__` become own properties, as API Gateway makes them. */
const queryPairs = fc.array(fc.tuple(queryName, queryValue), { minLength: 1, maxLength: 6 }).map((pairs) => Object.fromEntries(pairs));
/** Routes with a query schema get one most of the time; the others only now and then. */
const queryFor = (route: HttpRoute) =>
  route.method === 'GET' && /available/.test(route.name)
    ? fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) }, { weight: 3, arbitrary: queryPairs })
    : fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: queryPairs });

const authorization = fc.oneof(
  { weight: 14, arbitrary: fc.constantFrom(`Bearer ${KEYS.matchmaker}`, `Bearer ${KEYS.loadBalancer}`, `Bearer ${KEYS.matchmaker}`, `Bearer ${KEYS.reader}`) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom('Bearer', 'Bearer ', `bearer ${KEYS.matchmaker}`, `Bearer ${KEYS.matchmaker} extra`, `Basic ${KEYS.matchmaker}`, 'Bearer wrong-key') },
  { weight: 1, arbitrary: weirdString.map((s) => `Bearer ${s}`) },
);
const contentType = fc.oneof(
  { weight: 10, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'application/vnd.api+json', 'text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'multipart/form-data; boundary=x', 'APPLICATION/JSON') },
  { weight: 1, arbitrary: weirdString },
);
const extraHeaders = fc.array(
  fc.tuple(fc.oneof(fc.constantFrom('x-forwarded-for', 'host', 'content-length', 'transfer-encoding', 'x-amz-date', 'cookie', '__proto__', 'constructor', 'x-api-key'), fc.string({ maxLength: 20 })), weirdString),
  { maxLength: 3 },
);

const labelsLike = mostly(
  fc.dictionary(fc.constantFrom('map', 'mode', 'team.size', 'k8s.io/zone'), fc.constantFrom('dust', 'ranked', '5'), { maxKeys: 3 }),
  fc.oneof(
    fc.dictionary(fc.oneof(fc.constantFrom('map', 'mode', 'constructor', 'toString', 'a/b', 'x.y'), weirdString), fc.oneof(weirdString, edgeNumber as fc.Arbitrary<unknown>), { maxKeys: 20 }),
    fc.jsonValue(),
  ),
  2,
);
/** Claim-shaped bodies, each field mostly valid, sometimes wrong, often absent: they reach deep into validation and beyond. */
const claimishBody = fc
  .tuple(
    fc.record(
      {
        claimId: mostly(fc.stringMatching(/^fz[A-Za-z0-9._:-]{0,30}$/), fc.oneof(claimIdLike, edgeNumber as fc.Arbitrary<unknown>), 8),
        count: mostly(fc.constantFrom(1, 2, 3), fc.oneof(edgeNumber, weirdString as fc.Arbitrary<unknown>), 6),
        region: mostly(fc.constantFrom('us-west', 'eu-north'), weirdString, 6),
        group: mostly(fc.constantFrom('grp1', 'other'), weirdString, 6),
        labels: labelsLike,
        distinctNodes: mostly(fc.boolean(), weirdString, 6),
        leaseSeconds: mostly(fc.constantFrom(1, 5, 60, 3600), edgeNumber, 6),
      },
      { requiredKeys: [] },
    ),
    fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.tuple(weirdString, fc.jsonValue()) }),
  )
  .map(([fields, unexpected]) => JSON.stringify(unexpected ? { ...fields, [unexpected[0]]: unexpected[1] } : fields));

const POLLUTING_BODIES = [
  '{"__proto__":{"polluted":true}}',
  '{"claimId":"pp-1","__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"claimId":"pp-2","labels":{"__proto__":{"polluted":true}}}',
  '{"claimId":"pp-3","labels":{"constructor":"x","prototype":"y","toString":"z"}}',
  '{"claimId":"pp-4","__proto__":null}',
  '[{"__proto__":{"polluted":true}}]',
];

/** Bodies no route accepts, or that are malformed at the transport level. */
const badBody = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.constantFrom(...POLLUTING_BODIES) },
  { weight: 2, arbitrary: weirdString },
  { weight: 1, arbitrary: fc.integer({ min: MAX_BODY_BYTES - 20, max: 3 * MAX_BODY_BYTES }).map((n) => JSON.stringify({ claimId: 'x'.repeat(n) })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 8000 }).map((depth) => `{"labels":${'['.repeat(depth)}${']'.repeat(depth)}}`) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 8000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`) },
);

/** What a route's body usually looks like: claim-shaped for POSTs, none for GETs; otherwise something bad. */
function bodyFor(route: HttpRoute): fc.Arbitrary<string | undefined> {
  if (route.method === 'GET') return fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: badBody });
  const valid =
    route.name === 'claim-gs'
      ? claimishBody
      : route.name === 'replace-claim-server'
        ? fc
          .record({ lost: mostly(fc.constantFrom(...seededEndpointsArbitrary), endpointLike, 2), region: mostly(fc.constantFrom('us-west'), weirdString, 6) }, { requiredKeys: ['lost'] })
          .map((b) => JSON.stringify(b))
        : route.path.includes('{claimId}')
        ? fc.constantFrom(undefined, '{}')
        : fc.oneof(
          { weight: 1, arbitrary: fc.constantFrom(undefined, '{}') },
          { weight: 3, arbitrary: fc.record({ claimId: mostly(fc.stringMatching(/^fz[A-Za-z0-9._:-]{0,30}$/), claimIdLike) }).map((b) => JSON.stringify(b)) },
        );
  return fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: badBody });
}

interface FuzzRequest {
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  headers: Record<string, string>;
  body?: string;
  base64: boolean;
}

function requestArbitrary(route: HttpRoute): fc.Arbitrary<FuzzRequest> {
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const paramValue = (name: string) =>
    asPathParameter(
      name === 'endpoint'
        ? mostly(fc.constantFrom(...seededEndpointsArbitrary), endpointLike, 1)
        : name === 'file'
          ? mostly(fc.constantFrom(...Object.keys(dashboardBuild().assets), 'app.0000000000000000.js', 'app.ffffffffffffffff.css'), claimIdLike, 1)
          : claimIdLike,
    );
  const pathParameters: fc.Arbitrary<Record<string, string> | undefined> = names.length
    ? fc.tuple(...names.map(paramValue)).map((values) => Object.fromEntries(names.map((name, i) => [name, values[i]!])))
    : fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('endpoint', 'claimId', 'proxy'), weirdString, { minKeys: 1, maxKeys: 2 }) });
  return fc
    .record({
      pathParameters,
      query: queryFor(route),
      authorization,
      contentType,
      extra: extraHeaders,
      body: bodyFor(route),
      base64: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    })
    .map(({ pathParameters, query, authorization, contentType, extra, body, base64 }) => {
      const headers: Record<string, string> = Object.fromEntries(extra.map(([name, value]) => [name.toLowerCase(), value]));
      if (authorization !== undefined) headers.authorization = authorization;
      if (contentType !== undefined) headers['content-type'] = contentType;
      return {
        ...(pathParameters ? { pathParameters } : {}),
        ...(query ? { query } : {}),
        headers,
        ...(body !== undefined ? { body: base64 ? Buffer.from(body, 'utf8').toString('base64') : body } : {}),
        base64: base64 && body !== undefined,
      };
    });
}

/** fc.assert with a counterexample report cut to a readable size (bodies can be 48 KiB). */
async function assertProperty<T>(property: fc.IAsyncProperty<T>, numRuns: number, examples: T[] = []) {
  await fc.assert(property, {
    numRuns,
    examples,
    reporter: (details) => {
      if (!details.failed) return;
      const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      throw new Error(
        `property failed (seed ${details.seed}, path ${details.counterexamplePath}): ${error.slice(0, 2000)}\n` +
          `counterexample: ${fc.stringify(details.counterexample).slice(0, 1500)}`,
      );
    },
  });
}

// ---------- the checks every response must pass ----------

const REFUSED_BEFORE_IO = /^(request|auth)\./;

/** Routes whose 200 is not JSON: the dashboard's page and its assets (their errors are JSON). */
const PAGE_ROUTES: Record<string, RegExp> = { dashboard: /^text\/html; charset=utf-8$/, 'dashboard-asset': /^text\/(javascript|css); charset=utf-8$/ };

/** The body as JSON, or as text for a page route's 200. */
function parseBody(route: string, status: number, raw: string): unknown {
  return status === 200 && PAGE_ROUTES[route] ? raw : JSON.parse(raw);
}

/** Stack frames, source paths, SDK exception names: what an answer must never show. */
const INTERNALS = /\n\s+at |\.[cm]?[jt]s:\d+|node_modules|Exception|ValidationError/;

const decoded = (value: string): string => {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
};

/** Every string a request carried (decoded too, and a JSON body's string leaves): an answer may repeat them. */
function sentStrings(parts: { path?: string; values?: readonly string[]; body?: string }): string[] {
  const strings = [...(parts.values ?? []), ...(parts.path ? parts.path.split('/') : [])];
  const leaves = (value: unknown): void => {
    if (typeof value === 'string') strings.push(value);
    else if (value && typeof value === 'object') for (const inner of Object.values(value)) leaves(inner);
  };
  if (parts.body !== undefined) {
    strings.push(parts.body);
    try {
      leaves(JSON.parse(parts.body));
    } catch {
      // not JSON: the raw body is there already
    }
  }
  return [...new Set([...strings, ...strings.map(decoded)])].filter((value) => value.length > 0);
}

/**
 * The answer with what the caller sent taken out, then checked for internals. An error naming the
 * caller's own claim id "x.js:0" is an echo, not a leaked source path.
 */
function expectNoInternals(raw: string, sent: readonly string[], context: string) {
  const escaped = [...sent].map((value) => JSON.stringify(value).slice(1, -1)).sort((a, b) => b.length - a.length);
  const answerOwn = escaped.reduce((text, value) => text.split(value).join('<sent>'), raw);
  expect(answerOwn, context).not.toMatch(INTERNALS);
}

function checkResponse(route: string, response: { status: number; body: any; headers: Record<string, string>; raw: string }, sent: readonly string[]) {
  const context = `${route} -> ${response.status} ${response.raw.slice(0, 300)}`;
  expect(response.status, context).toBeGreaterThanOrEqual(200);
  expect(response.status, context).toBeLessThan(500);
  expect(response.headers['x-content-type-options'], context).toBe('nosniff');
  if (response.status === 200 && PAGE_ROUTES[route]) {
    expect(response.headers['content-type'], context).toMatch(PAGE_ROUTES[route]!);
    return;
  }
  expect(response.headers['content-type'], context).toBe('application/json; charset=utf-8');
  expect(response.headers['cache-control'], context).toBe('no-store');
  if (response.status >= 400) {
    expect(Object.keys(response.body), context).toEqual(['error']);
    expect(typeof response.body.error.code, context).toBe('string');
    expect(typeof response.body.error.message, context).toBe('string');
    if (response.status === 401) expect(response.headers['www-authenticate'], context).toBe('Bearer');
  }
  // Nothing internal: no stack frames, no source paths, no table names, no SDK exception names.
  expectNoInternals(response.raw, sent, context);
  expect(response.raw.includes(t.stack.stage), context).toBe(false);
  expect(({} as Record<string, unknown>).polluted, context).toBeUndefined();
}

describe('fuzzing every HTTP route through its handler (DynamoDB Local)', () => {
  it.each(HTTP_ROUTES.map((route) => [route.name, route] as const))(
    `%s: ${RUNS_PER_ROUTE} random requests, no 5xx, no write, tables byte-identical`,
    async (_name, route) => {
      let cases = 0;
      let refused = 0;
      let reachedLogic = 0;
      await assertProperty(
        fc.asyncProperty(requestArbitrary(route), async (fuzz) => {
          const request: ApiRequest = {
            method: route.method,
            route: route.path,
            key: null,
            headers: fuzz.headers,
            ...(fuzz.pathParameters ? { pathParameters: fuzz.pathParameters } : {}),
            ...(fuzz.query ? { query: fuzz.query } : {}),
            ...(fuzz.body !== undefined ? { rawBody: fuzz.body } : {}),
          };
          observed.sent.length = 0;
          const handler = handlers[route.name]!;
          const event = apiEvent(request);
          event.isBase64Encoded = fuzz.base64;
          if (!request.headers?.['content-type']) delete event.headers['content-type'];
          const result = await handler(event, { awsRequestId: 'fuzz', functionName: route.name } as never);
          const raw = result.body ?? '';
          const status = result.statusCode ?? 200;
          const response = { status, body: parseBody(route.name, status, raw) as any, headers: result.headers as Record<string, string>, raw };
          const sent = sentStrings({ values: [...Object.values(fuzz.pathParameters ?? {}), ...Object.values(fuzz.query ?? {})], ...(fuzz.body !== undefined ? { body: fuzz.base64 ? Buffer.from(fuzz.body, 'base64').toString('utf8') : fuzz.body } : {}) });
          checkResponse(route.name, response, sent);
          expect(acceptedWrites(observed.sent), `${route.name} wrote for ${JSON.stringify(fuzz).slice(0, 300)}`).toEqual([]);
          if (response.status >= 400 && REFUSED_BEFORE_IO.test(response.body.error.code)) expect(observed.sent, route.name).toEqual([]);
          cases++;
          if (response.status >= 400 && REFUSED_BEFORE_IO.test(response.body.error.code)) refused++;
          else reachedLogic++;
          if (cases % CHECKPOINT_EVERY === 0) expect(await snapshotTables(t)).toEqual(baseline);
        }),
        RUNS_PER_ROUTE,
        // Found by the fuzzer: a valid claim id that reads like a source position ("….js:0"),
        // repeated in the 404's message.
        route.path.includes('{claimId}') ? [[{ pathParameters: { claimId: 'echo.js%3A0' }, headers: { authorization: `Bearer ${KEYS.matchmaker}` }, base64: false }]] : [],
      );
      totalCases += cases;
      // The fuzzer is worth something only if it hits both sides of validation.
      expect(refused, 'requests refused for input or credentials').toBeGreaterThan(RUNS_PER_ROUTE / 10);
      expect(reachedLogic, 'requests that reached the route logic').toBeGreaterThan(RUNS_PER_ROUTE / 50);
      expect(await snapshotTables(t)).toEqual(baseline);
    },
  );
});

describe('fuzzing the local HTTP server (routing included)', () => {
  it(`${SERVER_RUNS} random methods, paths and bodies: JSON answers, 404/405 for what is not routed, no 5xx, no write`, async () => {
    const server = await startHttpServer(observed.deps, { port: 0 });
    try {
      const segment = fc.oneof(
        fc.constantFrom('gs', 'claims', 'claim-gs', 'set-gs-busy', 'set-gs-available', 'get-available-gs', 'get-available-lb', 'inventory', 'openapi.json', 'health', 'confirm', 'release'),
        endpointLike.map((e) => encodeURIComponent(e.replace(/[\uD800-\uDFFF]/g, ''))),
        fc.webSegment(),
      );
      // Under Node's own 16 KiB header limit (beyond it Node answers 431 before any routing).
      const pathLike = fc.oneof(
        fc.array(segment, { minLength: 1, maxLength: 4 }).map((segments) => `/${segments.join('/')}`.slice(0, 4000)),
        fc.constantFrom(...HTTP_ROUTES.map((r) => r.path.replace('{endpoint}', '10.0.40.1:7777').replace('{claimId}', 'nope'))),
      );
      const queryString = fc.option(fc.array(fc.tuple(queryName, queryValue), { maxLength: 4 }).map((pairs) => new URLSearchParams(pairs.map(([k, v]): [string, string] => [k.replace(/[\uD800-\uDFFF]/g, ''), v.replace(/[\uD800-\uDFFF]/g, '')])).toString().slice(0, 4000)), { nil: undefined });
      let cases = 0;
      await assertProperty(
        fc.asyncProperty(
          fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
          pathLike,
          queryString,
          fc.option(fc.oneof(claimishBody, badBody).map((b) => b.replace(/[\uD800-\uDFFF]/g, '')), { nil: undefined }),
          authorization.map((a) => a?.replace(/[^\x20-\x7e]/g, '')),
          async (method, path, query, body, auth) => {
            observed.sent.length = 0;
            const response = await fetch(`${server.url}${path}${query ? `?${query}` : ''}`, {
              method,
              headers: { ...(auth ? { authorization: auth } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
              ...(body !== undefined && method !== 'GET' ? { body } : {}),
            });
            const raw = await response.text();
            const context = `${method} ${path.slice(0, 200)}?${(query ?? '').slice(0, 200)} -> ${response.status} ${raw.slice(0, 200)}`;
            expect(response.status, context).toBeLessThan(500);
            cases++;
            // The dashboard's page: GET /dashboard with no query answers its HTML.
            if (response.status === 200 && method === 'GET' && path === '/dashboard') {
              expect(response.headers.get('content-type'), context).toBe('text/html; charset=utf-8');
              return;
            }
            expect(response.headers.get('content-type'), context).toBe('application/json; charset=utf-8');
            const parsed = JSON.parse(raw);
            if (response.status >= 400) expect(Object.keys(parsed), context).toEqual(['error']);
            const sent = sentStrings({ path, values: query ? [...new URLSearchParams(query).values()] : [], ...(body !== undefined ? { body } : {}) });
            expectNoInternals(raw, sent, context);
            expect(acceptedWrites(observed.sent), context).toEqual([]);
          },
        ),
        SERVER_RUNS,
      );
      totalCases += cases;
      expect(await snapshotTables(t)).toEqual(baseline);
    } finally {
      await server.close();
    }
  });

  it(`ran ${RUNS_PER_ROUTE} cases per route and ${SERVER_RUNS} through the server`, () => {
    expect(totalCases).toBe(RUNS_PER_ROUTE * HTTP_ROUTES.length + SERVER_RUNS);
  });
});
