import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { z } from 'zod';
import { createAuthenticator, type Caller, type Role } from './auth';
import type { Deps } from './deps';
import { isTransientError } from './dynamo';
import { DomainError, ServiceUnavailableError, type ErrorCode } from './errors';

export const MAX_BODY_BYTES = 16 * 1024;

/**
 * A request refused at the HTTP boundary itself (authentication, roles, malformed input), with
 * its status. The domain's refusals are DomainErrors, mapped by DOMAIN_STATUS.
 */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The one place a domain refusal becomes an HTTP status. */
export const DOMAIN_STATUS: Record<ErrorCode, number> = {
  'gs.not_found': 404,
  'claim.not_found': 404,
  'gs.not_available': 409,
  'gs.none_available': 409,
  'claim.mismatch': 409,
  'claim.lost': 409,
  'claim.released': 409,
  'claim.lease_too_long': 400,
  'claim.hold_too_long': 400,
  'service.unavailable': 503,
};

/** Any refusal as code, status, message and details; undefined for anything else (a bug: 500). */
function asRefusal(error: unknown): { code: string; statusCode: number; message: string; details?: Record<string, unknown> } | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof DomainError) return { code: error.code, statusCode: DOMAIN_STATUS[error.code], message: error.message, ...(error.details ? { details: error.details } : {}) };
  return undefined;
}
/** Validation messages quote field and parameter names; a caller's very long names are cut. */
const MAX_ERROR_MESSAGE_LENGTH = 500;

const SECURITY_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
};

export interface RouteSpec<P, Q, B> {
  /** `public` routes need no key (health). */
  roles: readonly Role[] | 'public';
  params?: z.ZodType<P>;
  /** Without one, the route takes no query parameters: any is refused. */
  query?: z.ZodType<Q>;
  /** Without one, the route takes no body: anything but none or `{}` is refused. */
  body?: z.ZodType<B>;
}

/** What a route without a query schema accepts: nothing. */
const NO_QUERY = z.strictObject({});
/** What a route without a body schema accepts: no body, or an empty JSON object. */
const NO_BODY = z.strictObject({}).optional();

/** `WWW-Authenticate` of a 401, per authentication mode. */
const CHALLENGE = { 'api-key': 'Bearer', iam: 'AWS4-HMAC-SHA256' } as const;

export interface HttpRequest<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  caller?: Caller;
  requestId: string;
  headers: Record<string, string | undefined>;
}

export interface HttpResult {
  statusCode: number;
  body: unknown;
  headers?: Record<string, string>;
  /** What the audit line should also say about this request (e.g. the endpoints a claim got). Never secrets. */
  audit?: Record<string, unknown>;
}

export function errorBody(code: string, message: string, details?: Record<string, unknown>) {
  return { error: { code, message, ...(details ? { details } : {}) } };
}

function respond(result: HttpResult, requestId: string): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: result.statusCode,
    headers: { ...SECURITY_HEADERS, 'x-request-id': requestId, ...result.headers },
    body: JSON.stringify(result.body),
  };
}

function describeIssues(error: z.ZodError, where: string): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path.length ? issue.path.join('.') : where;
      return issue.code === 'unrecognized_keys' ? `${where}: unknown field(s) ${issue.keys.join(', ')}` : `${path}: ${issue.message}`;
    })
    .join('; ')
    .slice(0, MAX_ERROR_MESSAGE_LENGTH);
}

function validate<T>(schema: z.ZodType<T> | undefined, value: unknown, where: 'path' | 'query' | 'body'): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpError(`request.invalid_${where}`, 400, `Invalid ${where}: ${describeIssues(result.error, where)}`);
  return result.data;
}

function decodePathParameters(raw: Record<string, string | undefined> | undefined): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw ?? {})) {
    if (value === undefined) continue;
    try {
      params[key] = decodeURIComponent(value);
    } catch {
      throw new HttpError('request.invalid_path', 400, `Invalid path: ${key} is not valid URL encoding`);
    }
  }
  return params;
}

function readBody(event: APIGatewayProxyEventV2): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) {
    throw new HttpError('request.too_large', 413, `Request body exceeds ${MAX_BODY_BYTES} bytes`);
  }
  const contentType = event.headers?.['content-type'] ?? event.headers?.['Content-Type'];
  if (contentType && !/^application\/([\w.-]+\+)?json\s*(;|$)/i.test(contentType)) {
    throw new HttpError('request.unsupported_media_type', 415, 'Request body must be application/json');
  }
  let forbiddenKey = false;
  let body: unknown;
  try {
    body = JSON.parse(text, (key, value) => {
      if (key === '__proto__') forbiddenKey = true;
      return value;
    });
  } catch {
    throw new HttpError('request.invalid_json', 400, 'Request body is not valid JSON');
  }
  if (forbiddenKey) throw forbiddenKeyError('body');
  return body;
}

/**
 * `__proto__` is never a field of ours. It must be refused before validation: zod's records skip
 * such keys silently, which would turn `labels: {"__proto__": ...}` into "no labels".
 */
function forbiddenKeyError(where: 'query' | 'body'): HttpError {
  return new HttpError(`request.invalid_${where}`, 400, `Invalid ${where}: __proto__ is not allowed as a name`);
}

function readQuery(event: APIGatewayProxyEventV2): Record<string, string | undefined> {
  const query = event.queryStringParameters ?? {};
  if (Object.hasOwn(query, '__proto__')) throw forbiddenKeyError('query');
  return { ...query };
}

function bearerToken(headers: Record<string, string | undefined>): string | undefined {
  const value = headers.authorization ?? headers.Authorization;
  const match = value ? /^Bearer\s+(\S{1,512})\s*$/i.exec(value) : null;
  return match?.[1];
}

/**
 * The audit trail: exactly one structured line per request (`message: "request"`), whatever the
 * outcome, with the request id (the same as the HTTP API's access log), the principal (key name or
 * IAM ARN, never a key or its digest), role, route, the claim id / endpoint the request was about,
 * the answer (status, error code) and the latency. A refused request says who was refused.
 */
class AuditLine {
  private readonly started = performance.now();
  private readonly fields: Record<string, unknown> = {};

  constructor(
    private readonly logger: Deps['logger'],
    requestId: string,
    route: string | undefined,
  ) {
    this.fields.requestId = requestId;
    if (route) this.fields.route = route;
  }

  caller(caller: Caller): void {
    this.fields.principal = caller.name;
    this.fields.principalId = caller.principal;
    this.fields.role = caller.role;
    if (caller.keyId) this.fields.keyId = caller.keyId;
  }

  /** The claim id and endpoint of validated path parameters or body. */
  subject(values: unknown): void {
    if (typeof values !== 'object' || values === null) return;
    for (const field of ['claimId', 'endpoint'] as const) {
      const value = (values as Record<string, unknown>)[field];
      if (typeof value === 'string') this.fields[field] = value;
    }
  }

  done(status: number, code?: string, extra?: Record<string, unknown>): void {
    this.logger.info('request', {
      ...this.fields,
      ...extra,
      status,
      outcome: code ?? 'ok',
      latencyMs: Math.round((performance.now() - this.started) * 10) / 10,
    });
  }
}

/**
 * The shared HTTP stack: Powertools logger context and EMF metrics, authentication by API key
 * and role, zod validation of path, query and body, and one error shape for everything:
 * `{ error: { code, message } }`. Refusals keep their status (HttpError's own, a DomainError's from
 * DOMAIN_STATUS); anything else is logged with its stack and answered with a bare 500 that leaks
 * nothing.
 */
export function httpHandler<P = undefined, Q = undefined, B = undefined>(
  deps: Deps,
  spec: RouteSpec<P, Q, B>,
  handle: (request: HttpRequest<P, Q, B>) => Promise<HttpResult>,
) {
  const authenticator = createAuthenticator(deps.config, {
    clock: deps.clock,
    onKeyringError: (error, outcome) => deps.logger.error('api keys unreadable', { outcome, error: error as Error }),
  });
  const querySchema = (spec.query ?? NO_QUERY) as z.ZodType<Q>;
  const bodySchema = (spec.body ?? NO_BODY) as z.ZodType<B>;
  const authenticateRequest = async (event: APIGatewayProxyEventV2, headers: Record<string, string | undefined>): Promise<Caller> => {
    const iamArn = (event.requestContext as { authorizer?: { iam?: { userArn?: unknown } } } | undefined)?.authorizer?.iam?.userArn;
    const token = bearerToken(headers);
    const outcome = await authenticator.authenticate({
      ...(token ? { bearer: token } : {}),
      ...(typeof iamArn === 'string' ? { iamArn } : {}),
    });
    switch (outcome.kind) {
      case 'authenticated':
        return outcome.caller;
      case 'no-role':
        throw new HttpError('auth.forbidden', 403, 'This IAM principal has no role on this API');
      case 'unavailable':
        throw new HttpError('auth.unavailable', 503, 'Authentication is temporarily unavailable; retry', { retryAfterSeconds: 1 });
      case 'unauthenticated':
        throw new HttpError(
          'auth.unauthorized',
          401,
          authenticator.mode === 'iam' ? 'A SigV4-signed request from a known IAM principal is required' : 'A valid API key is required: Authorization: Bearer <key>',
        );
    }
  };
  const core = async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const requestId = event.requestContext?.requestId ?? context.awsRequestId ?? 'local';
    const audit = new AuditLine(deps.logger, requestId, event.routeKey ?? event.requestContext?.routeKey);
    try {
      const headers = event.headers ?? {};
      let caller: Caller | undefined;
      if (spec.roles !== 'public') {
        caller = await authenticateRequest(event, headers);
        audit.caller(caller);
        if (!spec.roles.includes(caller.role)) {
          throw new HttpError('auth.forbidden', 403, `The ${caller.role} role may not call this route`);
        }
      }
      const params = validate(spec.params, decodePathParameters(event.pathParameters), 'path');
      audit.subject(params);
      const query = validate(querySchema, readQuery(event), 'query');
      const body = validate(bodySchema, readBody(event), 'body');
      audit.subject(body);
      const result = await handle({ params, query, body, requestId, headers, ...(caller ? { caller } : {}) });
      audit.done(result.statusCode, undefined, result.audit);
      return respond(result, requestId);
    } catch (caught) {
      // Throttling, timeouts and lost connections: the caller can retry the same request (every
      // write is safe to repeat), so they are 503 with Retry-After, never 500.
      const error = !(caught instanceof HttpError || caught instanceof DomainError) && isTransientError(caught) ? new ServiceUnavailableError(undefined, { cause: caught }) : caught;
      if (error instanceof ServiceUnavailableError) deps.logger.warn('dependency unavailable', { requestId, error: (error.cause ?? error) as Error });
      const refusal = asRefusal(error);
      if (refusal) {
        audit.done(refusal.statusCode, refusal.code);
        const headers: Record<string, string> = {};
        if (refusal.statusCode === 401) headers['www-authenticate'] = CHALLENGE[authenticator.mode];
        if (typeof refusal.details?.retryAfterSeconds === 'number') headers['retry-after'] = String(refusal.details.retryAfterSeconds);
        return respond({ statusCode: refusal.statusCode, body: errorBody(refusal.code, refusal.message, refusal.details), headers }, requestId);
      }
      deps.logger.error('unhandled error', { requestId, error: error as Error });
      audit.done(500, 'internal');
      return respond({ statusCode: 500, body: errorBody('internal', 'Internal error') }, requestId);
    }
  };
  return middy(core)
    // Never the event, whatever POWERTOOLS_LOGGER_LOG_EVENT says: it carries the Authorization header.
    .use(injectLambdaContext(deps.logger, { resetKeys: true, logEvent: false }))
    .use(logMetrics(deps.metrics));
}
