import { acceptsGzip } from '../../lib/http/middlewares/compress-responses';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createAuthenticator, type Authenticator } from '../../lib/auth';
import type { Deps } from '../../lib/deps';
import { DomainError, ErrorCodes, ServiceUnavailableError } from '../../lib/errors';
import { HttpError } from '../../lib/http/errors';
import { apiHeaders, SECURITY_HEADERS } from '../../lib/http/middlewares/api-headers';
import { auditTrail } from '../../lib/http/middlewares/audit-trail';
import { authenticate } from '../../lib/http/middlewares/authenticate';
import { errorResponses, INTERNAL_ERROR_BODY } from '../../lib/http/middlewares/error-responses';
import { parseRequest } from '../../lib/http/middlewares/parse-request';
import { validateRequest } from '../../lib/http/middlewares/validate-request';
import type { ApiEvent, ApiMiddleware, ApiResponse, ApiState } from '../../lib/http/state';
import { apiEvent } from '../../testkit/api-event';

/**
 * Each middleware of the HTTP boundary on its own: composed with a handler that reports what it
 * was given (its event's state), or with nothing but the error rendering it needs.
 */

const CONTEXT = { awsRequestId: 'lambda-request' } as Context;
const OK: ApiResponse = { statusCode: 200, headers: {}, body: '{}' };

/** Runs `event` through the middlewares; resolves to the state the handler saw, or rejects with what was thrown. */
async function stateAfter(event: ApiEvent, ...middlewares: ApiMiddleware[]): Promise<ApiState | undefined> {
  let seen: ApiState | undefined;
  const handler = middlewares.reduce(
    (chain, middleware) => chain.use(middleware),
    middy<ApiEvent, ApiResponse>().handler(async (handled) => {
      seen = handled.api;
      return OK;
    }),
  );
  await handler(event, CONTEXT);
  return seen;
}

async function refusalOf(promise: Promise<unknown>): Promise<{ code: string; statusCode: number; message: string; details?: unknown }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof HttpError)) throw new Error(`expected an HttpError, got ${String(error)}`);
  return { code: error.code, statusCode: error.statusCode, message: error.message, ...(error.details ? { details: error.details } : {}) };
}

interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>;
}

function captureLogger(): { logger: Deps['logger']; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (message: string, fields: Record<string, unknown> = {}) => void lines.push({ level, message, fields });
  return { logger: { info: at('info'), warn: at('warn'), error: at('error') } as unknown as Deps['logger'], lines };
}

const staticKeys = (apiKeys: string) =>
  createAuthenticator({ auth: { mode: 'api-key', apiKeysCacheMs: 60_000 }, apiKeys, awsRegion: 'us-east-1', endpoints: {} } as never, { clock: Date.now });
const KEYS = staticKeys('mm:matchmaker:mm-secret-1,ro:reader:ro-secret-1');

describe('authenticate', () => {
  it('keeps the caller of a valid key whose role the route admits', async () => {
    const state = await stateAfter(apiEvent({ route: '/x', key: 'mm-secret-1' }), authenticate(KEYS, ['matchmaker']));
    expect(state?.caller).toMatchObject({ name: 'mm', principal: 'key:mm', role: 'matchmaker' });
  });

  it('answers 401 auth.unauthorized without a key, for an unknown key and for a malformed Authorization header', async () => {
    const unauthorized = { code: 'auth.unauthorized', statusCode: 401, message: 'A valid API key is required: Authorization: Bearer <key>' };
    expect(await refusalOf(stateAfter(apiEvent({ route: '/x', key: null }), authenticate(KEYS, ['matchmaker'])))).toEqual(unauthorized);
    expect(await refusalOf(stateAfter(apiEvent({ route: '/x', key: 'nobody-issued-this' }), authenticate(KEYS, ['matchmaker'])))).toEqual(unauthorized);
    const basic = apiEvent({ route: '/x', key: null, headers: { authorization: 'Basic bW06bW0tc2VjcmV0LTE=' } });
    expect(await refusalOf(stateAfter(basic, authenticate(KEYS, ['matchmaker'])))).toEqual(unauthorized);
  });

  it('answers 403 auth.forbidden to a valid key whose role the route does not admit', async () => {
    expect(await refusalOf(stateAfter(apiEvent({ route: '/x', key: 'ro-secret-1' }), authenticate(KEYS, ['matchmaker', 'admin'])))).toEqual({
      code: 'auth.forbidden',
      statusCode: 403,
      message: 'The reader role may not call this route',
    });
  });

  it('answers 503 auth.unavailable with a retry hint while the keys cannot be read', async () => {
    const unreadable: Authenticator = { mode: 'api-key', authenticate: async () => ({ kind: 'unavailable' }) };
    expect(await refusalOf(stateAfter(apiEvent({ route: '/x', key: 'mm-secret-1' }), authenticate(unreadable, ['matchmaker'])))).toEqual({
      code: 'auth.unavailable',
      statusCode: 503,
      message: 'Authentication is temporarily unavailable; retry',
      details: { retryAfterSeconds: 1 },
    });
  });

  it('lets a public route through without asking the authenticator', async () => {
    let asked = 0;
    const counting: Authenticator = { mode: 'api-key', authenticate: async () => (asked++, { kind: 'unauthenticated' }) };
    const state = await stateAfter(apiEvent({ route: '/health', key: null }), authenticate(counting, 'public'));
    expect(asked).toBe(0);
    expect(state).toBeUndefined();
  });
});

describe('parseRequest', () => {
  const parse = parseRequest({ maxBodyBytes: 64 });

  it('reads URL-decoded path parameters, the query and the JSON body', async () => {
    const event = apiEvent({ method: 'POST', route: '/gs/{endpoint}', pathParameters: { endpoint: '10.0.0.1%3A7777' }, query: { region: 'eu' }, body: { claimId: 'c-1' } });
    expect((await stateAfter(event, parse))?.raw).toEqual({ params: { endpoint: '10.0.0.1:7777' }, query: { region: 'eu' }, body: { claimId: 'c-1' } });
  });

  it('reads no body, an empty body and a base64 body, and a body without a content type as JSON', async () => {
    expect((await stateAfter(apiEvent({ method: 'POST', route: '/x' }), parse))?.raw?.body).toBeUndefined();
    expect((await stateAfter(apiEvent({ method: 'POST', route: '/x', rawBody: '' }), parse))?.raw?.body).toBeUndefined();
    const base64 = { ...apiEvent({ method: 'POST', route: '/x' }), body: Buffer.from('{"a":1}').toString('base64'), isBase64Encoded: true };
    expect((await stateAfter(base64, parse))?.raw?.body).toEqual({ a: 1 });
    const untyped = apiEvent({ method: 'POST', route: '/x', rawBody: '{"a":2}' });
    delete untyped.headers['content-type'];
    expect((await stateAfter(untyped, parse))?.raw?.body).toEqual({ a: 2 });
    const vendor = apiEvent({ method: 'POST', route: '/x', rawBody: '{"a":3}', headers: { 'content-type': 'application/vnd.api+json; charset=utf-8' } });
    expect((await stateAfter(vendor, parse))?.raw?.body).toEqual({ a: 3 });
  });

  it('accepts a body of exactly the limit and answers 413 request.too_large one byte above it', async () => {
    const atLimit = `{"a":"${'x'.repeat(64 - 8)}"}`;
    expect(Buffer.byteLength(atLimit)).toBe(64);
    expect((await stateAfter(apiEvent({ method: 'POST', route: '/x', rawBody: atLimit }), parse))?.raw?.body).toEqual({ a: 'x'.repeat(56) });
    expect(await refusalOf(stateAfter(apiEvent({ method: 'POST', route: '/x', rawBody: `${atLimit} ` }), parse))).toEqual({
      code: 'request.too_large',
      statusCode: 413,
      message: 'Request body exceeds 64 bytes',
    });
  });

  it('answers 415 to a body that says it is not JSON, 400 to malformed JSON and to a bad path escape', async () => {
    expect(await refusalOf(stateAfter(apiEvent({ method: 'POST', route: '/x', rawBody: '{}', headers: { 'content-type': 'text/plain' } }), parse))).toEqual({
      code: 'request.unsupported_media_type',
      statusCode: 415,
      message: 'Request body must be application/json',
    });
    expect(await refusalOf(stateAfter(apiEvent({ method: 'POST', route: '/x', rawBody: '{"a":' }), parse))).toEqual({
      code: 'request.invalid_json',
      statusCode: 400,
      message: 'Request body is not valid JSON',
    });
    expect(await refusalOf(stateAfter(apiEvent({ route: '/gs/{endpoint}', pathParameters: { endpoint: '%E0%A4%A' } }), parse))).toEqual({
      code: 'request.invalid_path',
      statusCode: 400,
      message: 'Invalid path: endpoint is not valid URL encoding',
    });
  });

  it('refuses __proto__ as a name anywhere in the body and in the query', async () => {
    expect(await refusalOf(stateAfter(apiEvent({ method: 'POST', route: '/x', rawBody: '{"labels":{"__proto__":{"a":1}}}' }), parse))).toEqual({
      code: 'request.invalid_body',
      statusCode: 400,
      message: 'Invalid body: __proto__ is not allowed as a name',
    });
    const query = apiEvent({ route: '/x' });
    query.queryStringParameters = JSON.parse('{"__proto__":"x"}') as Record<string, string>;
    expect(await refusalOf(stateAfter(query, parse))).toEqual({ code: 'request.invalid_query', statusCode: 400, message: 'Invalid query: __proto__ is not allowed as a name' });
  });

  it('leaves the caller\'s event object as it was', async () => {
    const event = apiEvent({ method: 'POST', route: '/x', body: { a: 1 } });
    const before = structuredClone(event);
    await stateAfter(event, parse);
    expect(event).toEqual(before);
  });
});

describe('validateRequest', () => {
  const schemas = {
    params: z.strictObject({ endpoint: z.string().regex(/^[\d.]+:\d+$/) }),
    body: z.strictObject({ count: z.number().int().default(1) }).optional(),
  };
  const request = (body: unknown, endpoint = '10.0.0.1:7777', query?: Record<string, string>) =>
    apiEvent({ method: 'POST', route: '/gs/{endpoint}', pathParameters: { endpoint }, ...(query ? { query } : {}), rawBody: body === undefined ? '' : JSON.stringify(body) });

  it('keeps each part as its schema returns it, defaults applied', async () => {
    const state = await stateAfter(request({}), parseRequest({ maxBodyBytes: 1024 }), validateRequest(schemas));
    expect({ params: state?.params, query: state?.query, body: state?.body }).toEqual({ params: { endpoint: '10.0.0.1:7777' }, query: {}, body: { count: 1 } });
  });

  it('checks the path first, then the query, then the body, naming the part and the field', async () => {
    const run = (event: ApiEvent) => refusalOf(stateAfter(event, parseRequest({ maxBodyBytes: 1024 }), validateRequest(schemas)));
    expect(await run(request({ count: 'x' }, 'nope', { a: '1' }))).toMatchObject({ code: 'request.invalid_path', statusCode: 400 });
    expect(await run(request({ count: 'x' }, '10.0.0.1:1', { a: '1' }))).toEqual({ code: 'request.invalid_query', statusCode: 400, message: 'Invalid query: query: unknown field(s) a' });
    expect(await run(request({ count: 'x' }))).toEqual({ code: 'request.invalid_body', statusCode: 400, message: 'Invalid body: count: Invalid input: expected number, received string' });
  });

  it('lets a route without a body schema take no body or {}, and nothing else', async () => {
    const bare = validateRequest({});
    const run = (rawBody: string) => stateAfter(apiEvent({ method: 'POST', route: '/x', rawBody }), parseRequest({ maxBodyBytes: 1024 }), bare);
    expect((await run(''))?.body).toBeUndefined();
    expect((await run('{}'))?.body).toEqual({});
    expect(await refusalOf(run('{"a":1}'))).toEqual({ code: 'request.invalid_body', statusCode: 400, message: 'Invalid body: body: unknown field(s) a' });
  });

  it('cuts a message quoting very long names at 500 characters', async () => {
    const longName = 'n'.repeat(2000);
    const refusal = await refusalOf(stateAfter(apiEvent({ method: 'POST', route: '/x', rawBody: JSON.stringify({ [longName]: 1 }) }), parseRequest({ maxBodyBytes: 4096 }), validateRequest({})));
    expect(refusal.message).toBe(`Invalid body: ${`body: unknown field(s) ${longName}`.slice(0, 500)}`);
  });
});

/** The error rendering of httpHandler: errorResponses inside @middy/http-error-handler, apiHeaders around both. */
async function answer(thrown: unknown, challenge = 'Bearer') {
  const { logger, lines } = captureLogger();
  const handler = middy<ApiEvent, ApiResponse>()
    .use(apiHeaders())
    .use(httpErrorHandler({ logger: false, fallbackMessage: INTERNAL_ERROR_BODY }))
    .use(errorResponses({ logger, challenge }))
    .handler(async () => {
      throw thrown;
    });
  const response = await handler(apiEvent({ route: '/x' }), CONTEXT);
  return { statusCode: response.statusCode, headers: response.headers, body: JSON.parse(String(response.body)) as unknown, lines };
}

describe('errorResponses (rendered by @middy/http-error-handler)', () => {
  it('answers a domain refusal with the status of its code and the JSON error', async () => {
    const { statusCode, body, lines } = await answer(new DomainError(ErrorCodes.claimMismatch, 'claim c-1 was made with another request', { claimId: 'c-1' }));
    expect(statusCode).toBe(409);
    expect(body).toEqual({ error: { code: 'claim.mismatch', message: 'claim c-1 was made with another request', details: { claimId: 'c-1' } } });
    expect(lines).toEqual([]);
  });

  it('answers a 401 with the challenge of the authentication mode', async () => {
    const { statusCode, headers, body } = await answer(new HttpError('auth.unauthorized', 401, 'who are you'), 'AWS4-HMAC-SHA256');
    expect(statusCode).toBe(401);
    expect(headers?.['www-authenticate']).toBe('AWS4-HMAC-SHA256');
    expect(body).toEqual({ error: { code: 'auth.unauthorized', message: 'who are you' } });
  });

  it('answers a throttled or unreachable DynamoDB with 503 service.unavailable and Retry-After, and warns', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const { statusCode, headers, body, lines } = await answer(throttled);
    expect(statusCode).toBe(503);
    expect(headers?.['retry-after']).toBe('1');
    expect(body).toEqual({ error: { code: 'service.unavailable', message: new ServiceUnavailableError().message, details: { retryAfterSeconds: 1 } } });
    expect(lines.map(({ level, message, fields }) => [level, message, fields.error])).toEqual([['warn', 'dependency unavailable', throttled]]);
  });

  it('answers a bug with a bare 500 that leaks nothing, even when the error carries a status of its own', async () => {
    const bug = Object.assign(new Error('secret table name in a stack'), { statusCode: 400, expose: true });
    const { statusCode, body, lines } = await answer(bug);
    expect(statusCode).toBe(500);
    expect(body).toEqual({ error: { code: 'internal', message: 'Internal error' } });
    expect(lines.map(({ level, message, fields }) => [level, message, fields.error])).toEqual([['error', 'unhandled error', bug]]);
  });
});

describe('apiHeaders', () => {
  const run = (response: ApiResponse) => middy<ApiEvent, ApiResponse>().use(apiHeaders()).handler(async () => response)(apiEvent({ route: '/x' }), CONTEXT);

  it('gives every answer the JSON content type, the security headers and the request id, in lower case, keeping the handler\'s own', async () => {
    const event = apiEvent({ route: '/x' });
    const response = await middy<ApiEvent, ApiResponse>()
      .use(apiHeaders())
      .handler(async () => ({ statusCode: 409, headers: { 'Retry-After': '2', 'Content-Type': 'application/json' }, body: '{}' }))(event, CONTEXT);
    expect(response.headers).toEqual({
      ...SECURITY_HEADERS,
      'content-type': 'application/json; charset=utf-8',
      'x-request-id': event.requestContext.requestId,
      'retry-after': '2',
    });
  });

  it('keeps a content type that is not JSON', async () => {
    expect((await run({ statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<p>' })).headers?.['content-type']).toBe('text/html; charset=utf-8');
  });

  it('uses the Lambda request id when API Gateway gave none', async () => {
    const event = apiEvent({ route: '/x' });
    const response = await middy<ApiEvent, ApiResponse>().use(apiHeaders()).handler(async () => OK)({ ...event, requestContext: undefined as never }, CONTEXT);
    expect(response.headers?.['x-request-id']).toBe('lambda-request');
  });
});

describe('auditTrail', () => {
  it('writes exactly one line for an answered request, with the caller, the subject and the handler\'s additions', async () => {
    const { logger, lines } = captureLogger();
    const event = apiEvent({ method: 'POST', route: '/set-gs-busy/{endpoint}', key: 'mm-secret-1', pathParameters: { endpoint: '10.0.0.1:7777' }, body: { claimId: 'c-9' } });
    await middy<ApiEvent, ApiResponse>()
      .use(auditTrail(logger))
      .use(authenticate(KEYS, ['matchmaker']))
      .use(parseRequest({ maxBodyBytes: 1024 }))
      .use(validateRequest({ params: z.object({ endpoint: z.string() }), body: z.object({ claimId: z.string() }) }))
      .handler(async (handled) => {
        handled.api!.audit = { released: true };
        return OK;
      })(event, CONTEXT);
    expect(lines).toHaveLength(1);
    const { latencyMs, ...fields } = lines[0]!.fields;
    expect(lines[0]!.message).toBe('request');
    expect(typeof latencyMs).toBe('number');
    expect(fields).toEqual({
      requestId: event.requestContext.requestId,
      route: 'POST /set-gs-busy/{endpoint}',
      principal: 'mm',
      principalId: 'key:mm',
      role: 'matchmaker',
      keyId: expect.stringMatching(/^[0-9a-f]{8}$/),
      endpoint: '10.0.0.1:7777',
      claimId: 'c-9',
      released: true,
      status: 200,
      outcome: 'ok',
    });
  });

  it('writes exactly one line for a refused request, with the status the caller got and the refusal code', async () => {
    const { logger, lines } = captureLogger();
    const event = apiEvent({ route: '/x', key: 'ro-secret-1' });
    const response = await middy<ApiEvent, ApiResponse>()
      .use(auditTrail(logger))
      .use(httpErrorHandler({ logger: false, fallbackMessage: INTERNAL_ERROR_BODY }))
      .use(errorResponses({ logger, challenge: 'Bearer' }))
      .use(authenticate(KEYS, ['matchmaker']))
      .handler(async () => OK)(event, CONTEXT);
    expect(response.statusCode).toBe(403);
    expect(lines.map((line) => [line.message, line.fields.principal, line.fields.status, line.fields.outcome])).toEqual([['request', 'ro', 403, 'auth.forbidden']]);
  });
});

describe('acceptsGzip (Accept-Encoding)', () => {
  it('takes gzip when named or covered by *, never at q=0', () => {
    expect(acceptsGzip('gzip, deflate, br')).toBe(true);
    expect(acceptsGzip('br;q=1.0, gzip;q=0.8')).toBe(true);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('gzip;q=0, *')).toBe(false);
    expect(acceptsGzip('identity')).toBe(false);
    expect(acceptsGzip('br, *;q=0')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });
});
