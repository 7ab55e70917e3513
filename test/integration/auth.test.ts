import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler as makeConfirm } from '../../functions/confirm-claim';
import { makeHandler as makeOpenApi } from '../../functions/openapi';
import { dashboardBuild } from '../../lib/dashboard-assets';
import { generateApiKey, hashApiKey } from '../../lib/auth/keys';
import { API_KEYS_ENV, KEYS, apiEvent, invoke, type ApiRequest } from '../fixtures/http';
import { acceptedWrites, HTTP_ROUTES, loadHandlers, observedDeps, snapshotTables, type HttpLambda, type HttpRoute } from '../fixtures/guard';
import { registerFleet } from '../fixtures/servers';
import { createTestStack, manualClock, type TestStack } from '../setup/stack';

/**
 * Promise 9: every route but the public ones requires a key (401 with WWW-Authenticate without one
 * or with a wrong one), roles limit what a key may do (403), and a refused caller changes nothing.
 * Then the AWS key store (SSM SecureString, cached, rotatable) and the IAM (SigV4) mode.
 */

let t: TestStack;
let observed: ReturnType<typeof observedDeps>;
let handlers: Record<string, HttpLambda>;
let baseline: Awaited<ReturnType<typeof snapshotTables>>;
let endpoint: string;

beforeAll(async () => {
  t = await createTestStack({ env: { API_KEYS: API_KEYS_ENV } });
  observed = observedDeps(t);
  handlers = await loadHandlers(observed.deps);
  [endpoint] = (await registerFleet(t.deps, { count: 2, nodes: 2, group: 'auth', subnet: 11 })) as [string];
  const claim = await invoke(handlers['claim-gs']!, { method: 'POST', route: '/claim-gs', body: { claimId: 'auth-claim', group: 'auth' } });
  expect(claim.status).toBe(200);
  baseline = await snapshotTables(t);
});
afterAll(async () => {
  observed?.destroy();
  await t?.destroy();
});

/** A request that passes validation: only its credentials decide. */
function validRequest(route: HttpRoute, key: string | null, headers?: Record<string, string>): ApiRequest {
  const pathParameters: Record<string, string> = {};
  if (route.path.includes('{endpoint}')) pathParameters.endpoint = endpoint;
  if (route.path.includes('{claimId}')) pathParameters.claimId = 'auth-claim';
  if (route.path.includes('{file}')) pathParameters.file = Object.keys(dashboardBuild().assets)[0]!;
  const body = route.name === 'claim-gs' ? { claimId: 'auth-new', group: 'auth' } : route.name === 'set-gs-available' ? { claimId: 'auth-claim' } : undefined;
  return {
    method: route.method,
    route: route.path,
    key,
    ...(Object.keys(pathParameters).length ? { pathParameters } : {}),
    ...(body ? { body } : {}),
    ...(headers ? { headers } : {}),
  };
}

const WRONG_CREDENTIALS: Array<[string, string | null, Record<string, string>?]> = [
  ['no Authorization header', null],
  ['an unknown key', 'not-a-key-of-ours'],
  ['a key of another deployment', generateApiKey()],
  ['a valid key with one character changed', `${KEYS.matchmaker.slice(0, -1)}X`],
  ['a valid key as Basic credentials', null, { authorization: `Basic ${Buffer.from(`x:${KEYS.matchmaker}`).toString('base64')}` }],
  ['a valid key without the Bearer scheme', null, { authorization: KEYS.matchmaker }],
  ['an empty Bearer token', null, { authorization: 'Bearer ' }],
  ['a Bearer token of 600 characters', 'k'.repeat(600)],
  ['a valid key in an X-Api-Key header', null, { 'x-api-key': KEYS.matchmaker }],
  ['the key\'s SHA-256 digest', hashApiKey(KEYS.matchmaker)],
];

const keyedRoutes = HTTP_ROUTES.filter((route) => !route.public);
const publicRoutes = HTTP_ROUTES.filter((route) => route.public);
const postRoutes = keyedRoutes.filter((route) => route.method === 'POST');

const AUTH_CASES = [
  ...keyedRoutes.flatMap((route) =>
    WRONG_CREDENTIALS.map(([name, key, headers]) => ({ route, name, request: validRequest(route, key, headers), status: 401, code: 'auth.unauthorized' })),
  ),
  ...postRoutes.map((route) => ({ route, name: 'the reader role', request: validRequest(route, KEYS.reader), status: 403, code: 'auth.forbidden' })),
];

describe('authentication and roles on every route', () => {
  it.each(AUTH_CASES.map((c) => [c.route.name, c.name, c] as const))('%s refuses %s, touching nothing', async (_route, _name, testCase) => {
    observed.sent.length = 0;
    const response = await invoke(handlers[testCase.route.name]!, testCase.request);
    expect({ status: response.status, body: response.body }).toEqual({
      status: testCase.status,
      body: { error: { code: testCase.code, message: expect.any(String) } },
    });
    if (testCase.status === 401) expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(observed.sent).toEqual([]);
    expect(await snapshotTables(t)).toEqual(baseline);
  });

  it('checks credentials before input: a stranger learns nothing about what is valid', async () => {
    for (const route of keyedRoutes) {
      const response = await invoke(handlers[route.name]!, { method: route.method, route: route.path, key: null, query: { bogus: '1' }, rawBody: '{' });
      expect({ route: route.name, status: response.status, code: response.body.error.code }).toEqual({ route: route.name, status: 401, code: 'auth.unauthorized' });
    }
  });

  it.each(publicRoutes.map((route) => [route.name, route] as const))('%s answers without a key, and with a wrong one', async (_name, route) => {
    for (const key of [null, 'not-a-key-of-ours']) {
      const response = await invoke(handlers[route.name]!, validRequest(route, key));
      expect(response.status).toBe(200);
    }
  });

  it('lets each role call exactly the routes its role list names (GET: all roles; POST: matchmaker and load balancer)', async () => {
    for (const route of keyedRoutes.filter((r) => r.method === 'GET')) {
      for (const key of Object.values(KEYS)) {
        const response = await invoke(handlers[route.name]!, validRequest(route, key));
        expect([401, 403], `${route.name} ${response.status}`).not.toContain(response.status);
      }
    }
    // POST routes with the claimer roles are exercised in claims.test.ts; here only that they pass authentication.
    for (const route of postRoutes) {
      for (const key of [KEYS.matchmaker, KEYS.loadBalancer]) {
        const response = await invoke(handlers[route.name]!, { ...validRequest(route, key), query: { bogus: '1' } });
        expect({ route: route.name, code: response.body.error?.code }).toEqual({ route: route.name, code: 'request.invalid_query' });
      }
    }
    expect(acceptedWrites(observed.sent)).toEqual([]);
  });
});

describe('catalogue agreement', () => {
  it('every HTTP route of infra/functions.cjs has auth cases: 401 without or with a wrong key, 403 for readers on POST', () => {
    for (const route of keyedRoutes) {
      const cases = AUTH_CASES.filter((c) => c.route.name === route.name);
      expect(cases.filter((c) => c.status === 401).length, route.name).toBe(WRONG_CREDENTIALS.length);
      expect(cases.filter((c) => c.status === 403).length, route.name).toBe(route.method === 'POST' ? 1 : 0);
    }
    expect(keyedRoutes.length + publicRoutes.length).toBe(HTTP_ROUTES.length);
    // The dashboard's page and assets hold no data: the page asks for a key for the GET routes.
    expect(publicRoutes.map((route) => route.name)).toEqual(['health', 'dashboard', 'dashboard-asset']);
  });

  it.each(HTTP_ROUTES.map((route) => [route.name, route.public ? 'public' : 'keyed', route] as const))(
    '%s is %s in the catalogue, and its handler behaves so',
    async (_name, _kind, route) => {
      const response = await invoke(handlers[route.name]!, validRequest(route, null));
      if (route.public) expect(response.status).not.toBe(401);
      else expect({ status: response.status, challenge: response.headers['www-authenticate'] }).toEqual({ status: 401, challenge: 'Bearer' });
    },
  );
});

// ---------- API keys from SSM Parameter Store ----------

/** An SSM-compatible endpoint (JSON 1.1 protocol, GetParameter only) whose answers the test sets. */
async function startParameterStore() {
  const state = {
    type: 'SecureString',
    value: '{}',
    /** When set, GetParameter fails with this error type. */
    failWith: undefined as string | undefined,
    requests: [] as Array<{ target: string | undefined; body: Record<string, unknown> }>,
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      state.requests.push({ target: request.headers['x-amz-target'] as string | undefined, body });
      const reply = (status: number, payload: unknown) => {
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify(payload));
      };
      if (state.failWith) return reply(400, { __type: state.failWith, message: 'refused by the test' });
      reply(200, { Parameter: { Name: body.Name, Type: state.type, Value: state.value, Version: state.requests.length, DataType: 'text' } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { state, url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('API keys from an SSM SecureString parameter (as deployed)', () => {
  const PARAMETER = '/gs-inventory/test/api-keys';
  const CACHE_SECONDS = 300;
  const oldKey = generateApiKey();
  const newKey = generateApiKey();
  const readerKey = generateApiKey();
  const clock = manualClock();
  let store: Awaited<ReturnType<typeof startParameterStore>>;
  let ssmStack: TestStack;

  beforeAll(async () => {
    store = await startParameterStore();
    ssmStack = await createTestStack({
      clock,
      env: { API_KEYS_PARAMETER: PARAMETER, API_KEYS_CACHE_SECONDS: String(CACHE_SECONDS), SSM_ENDPOINT: store.url },
    });
  });
  afterAll(async () => {
    await ssmStack?.destroy();
    await store?.close();
  });

  const document = (roles: Record<string, string[]>) => JSON.stringify(Object.fromEntries(Object.entries(roles).map(([role, keys]) => [role, keys.map(hashApiKey)])));
  const call = (handler: HttpLambda, key: string) => invoke(handler, { route: '/openapi.json', key });

  it('reads the digests once per cold start (decrypted, one read however many requests wait) and authenticates by role', async () => {
    store.state.value = document({ matchmaker: [oldKey], reader: [readerKey] });
    store.state.requests.length = 0;
    const openapi = makeOpenApi(ssmStack.deps);
    const first = await Promise.all([call(openapi, oldKey), call(openapi, readerKey), call(openapi, oldKey), call(openapi, 'wrong-key-123')]);
    expect(first.map((r) => r.status)).toEqual([200, 200, 200, 401]);
    expect(store.state.requests).toEqual([{ target: 'AmazonSSM.GetParameter', body: { Name: PARAMETER, WithDecryption: true } }]);
    clock.advance(CACHE_SECONDS * 1000 - 1);
    expect((await call(openapi, oldKey)).status).toBe(200);
    expect(store.state.requests).toHaveLength(1);

    const confirm = makeConfirm(ssmStack.deps);
    const byReader = await invoke(confirm, { method: 'POST', route: '/claims/{claimId}/confirm', pathParameters: { claimId: 'x' }, key: readerKey });
    expect({ status: byReader.status, code: byReader.body.error.code }).toEqual({ status: 403, code: 'auth.forbidden' });
  });

  it('rotates without downtime: old and new key both work while the document lists both, then only the new one', async () => {
    store.state.value = document({ matchmaker: [oldKey] });
    const openapi = makeOpenApi(ssmStack.deps);
    expect([(await call(openapi, oldKey)).status, (await call(openapi, newKey)).status]).toEqual([200, 401]);

    // Step 1: add the new key's digest. Instances pick it up when their cache runs out.
    store.state.value = document({ matchmaker: [oldKey, newKey] });
    expect((await call(openapi, newKey)).status).toBe(401);
    clock.advance(CACHE_SECONDS * 1000);
    expect([(await call(openapi, oldKey)).status, (await call(openapi, newKey)).status]).toEqual([200, 200]);

    // Step 2: clients move to the new key; step 3: remove the old digest.
    store.state.value = document({ matchmaker: [newKey] });
    clock.advance(CACHE_SECONDS * 1000);
    expect([(await call(openapi, oldKey)).status, (await call(openapi, newKey)).status]).toEqual([401, 200]);
  });

  it('answers 503 auth.unavailable (never 500) while the parameter cannot be read at cold start, and recovers', async () => {
    store.state.failWith = 'ParameterNotFound';
    store.state.value = document({ matchmaker: [oldKey] });
    const openapi = makeOpenApi(ssmStack.deps);
    const refused = await call(openapi, oldKey);
    expect({ status: refused.status, body: refused.body, retryAfter: refused.headers['retry-after'] }).toEqual({
      status: 503,
      body: { error: { code: 'auth.unavailable', message: 'Authentication is temporarily unavailable; retry', details: { retryAfterSeconds: 1 } } },
      retryAfter: '1',
    });
    // A key it cannot check is not judged either way; no key at all is still a plain 401.
    expect((await call(openapi, 'some-other-key')).status).toBe(503);
    expect((await invoke(openapi, { route: '/openapi.json', key: null })).status).toBe(401);
    store.state.failWith = undefined;
    clock.advance(5000);
    expect((await call(openapi, oldKey)).status).toBe(200);
  });

  it('keeps the keys it has through an SSM outage, but refuses everyone when the document is invalid or not a SecureString', async () => {
    store.state.value = document({ matchmaker: [oldKey] });
    const openapi = makeOpenApi(ssmStack.deps);
    expect((await call(openapi, oldKey)).status).toBe(200);

    store.state.failWith = 'AccessDeniedException';
    clock.advance(CACHE_SECONDS * 1000);
    expect((await call(openapi, oldKey)).status).toBe(200);
    store.state.failWith = undefined;

    for (const [type, value] of [
      ['SecureString', '{"matchmaker":["not-a-digest"]}'],
      ['SecureString', `{"superuser":["${hashApiKey(oldKey)}"]}`],
      ['SecureString', 'matchmaker:plaintext-key'],
      ['String', document({ matchmaker: [oldKey] })],
    ] as const) {
      store.state.type = type;
      store.state.value = value;
      clock.advance(CACHE_SECONDS * 1000);
      expect((await call(openapi, oldKey)).status, `${type} ${value}`).toBe(503);
    }
    store.state.type = 'SecureString';
    store.state.value = document({ matchmaker: [oldKey] });
    clock.advance(5000);
    expect((await call(openapi, oldKey)).status).toBe(200);
  });

  it('holds no key material in its configuration, only the parameter name', () => {
    expect(ssmStack.config.apiKeys).toBeUndefined();
    expect(ssmStack.config.auth).toEqual({ mode: 'api-key', apiKeysParameter: PARAMETER, apiKeysCacheMs: CACHE_SECONDS * 1000 });
  });
});

// ---------- IAM (SigV4) mode ----------

describe('IAM authorization (API Gateway verified a SigV4 signature)', () => {
  const ACCOUNT = '123456789012';
  const principals = {
    [`arn:aws:iam::${ACCOUNT}:role/eks/lb-pods`]: 'load-balancer',
    [`arn:aws:iam::${ACCOUNT}:role/matchmaker`]: 'matchmaker',
    [`arn:aws:iam::${ACCOUNT}:user/dashboard`]: 'reader',
  };
  let iamStack: TestStack;

  beforeAll(async () => {
    iamStack = await createTestStack({ env: { AUTH_MODE: 'iam', IAM_PRINCIPALS: JSON.stringify(principals) } });
  });
  afterAll(async () => iamStack?.destroy());

  /** The event as API Gateway passes it after IAM authorization (payload 2.0). */
  function signedEvent(request: ApiRequest, userArn?: string): APIGatewayProxyEventV2 {
    const event = apiEvent({ ...request, key: request.key ?? null });
    if (userArn) {
      (event.requestContext as unknown as Record<string, unknown>).authorizer = {
        iam: { accessKey: 'ASIAEXAMPLE', accountId: ACCOUNT, callerId: 'AROAEXAMPLE:session', principalOrgId: null, userArn, userId: 'AROAEXAMPLE:session', cognitoIdentity: null },
      };
    }
    return event;
  }
  const send = async (handler: HttpLambda, event: APIGatewayProxyEventV2) => {
    const result = await handler(event, { awsRequestId: 'iam-test' } as never);
    return { status: result.statusCode, body: JSON.parse(result.body!), headers: result.headers as Record<string, string> };
  };

  it('maps an IRSA pod\'s assumed-role session to the role of its IAM role (path ignored) and lets it claim', async () => {
    const confirm = makeConfirm(iamStack.deps);
    const request = { method: 'POST', route: '/claims/{claimId}/confirm', pathParameters: { claimId: 'no-such-claim' } };
    const lb = await send(confirm, signedEvent(request, `arn:aws:sts::${ACCOUNT}:assumed-role/lb-pods/botocore-session-1700000000`));
    expect({ status: lb.status, code: lb.body.error.code }).toEqual({ status: 404, code: 'claim.not_found' });
    const mm = await send(confirm, signedEvent(request, `arn:aws:iam::${ACCOUNT}:role/matchmaker`));
    expect(mm.status).toBe(404);
  });

  it('refuses a verified principal that has no role (403), and an IAM user mapped to reader on POST routes (403)', async () => {
    const confirm = makeConfirm(iamStack.deps);
    const request = { method: 'POST', route: '/claims/{claimId}/confirm', pathParameters: { claimId: 'x' } };
    for (const arn of [`arn:aws:sts::${ACCOUNT}:assumed-role/other-pods/s1`, `arn:aws:sts::999999999999:assumed-role/lb-pods/s1`, `arn:aws:iam::${ACCOUNT}:root`]) {
      const response = await send(confirm, signedEvent(request, arn));
      expect({ arn, status: response.status, code: response.body.error.code }).toEqual({ arn, status: 403, code: 'auth.forbidden' });
    }
    const reader = await send(confirm, signedEvent(request, `arn:aws:iam::${ACCOUNT}:user/dashboard`));
    expect({ status: reader.status, code: reader.body.error.code }).toEqual({ status: 403, code: 'auth.forbidden' });
    const readerGet = await send(makeOpenApi(iamStack.deps), signedEvent({ route: '/openapi.json' }, `arn:aws:iam::${ACCOUNT}:user/dashboard`));
    expect(readerGet.status).toBe(200);
  });

  it('answers 401 with an AWS4-HMAC-SHA256 challenge when no IAM identity came with the request, whatever key is sent', async () => {
    const openapi = makeOpenApi(iamStack.deps);
    for (const key of [null, KEYS.matchmaker]) {
      const response = await send(openapi, signedEvent({ route: '/openapi.json', key }));
      expect({ status: response.status, code: response.body.error.code, challenge: response.headers['www-authenticate'] }).toEqual({
        status: 401,
        code: 'auth.unauthorized',
        challenge: 'AWS4-HMAC-SHA256',
      });
    }
  });
});
