import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { z } from 'zod';
import { createAuthenticator, type Caller, type Role } from '../auth';
import type { Deps } from '../deps';
import { apiHeaders } from './middlewares/api-headers';
import { auditTrail } from './middlewares/audit-trail';
import { compressResponses } from './middlewares/compress-responses';
import { authenticate } from './middlewares/authenticate';
import { errorResponses, INTERNAL_ERROR_BODY } from './middlewares/error-responses';
import { parseRequest } from './middlewares/parse-request';
import { validateRequest } from './middlewares/validate-request';
import type { ApiEvent, ApiResponse, ApiState } from './state';

export { DOMAIN_STATUS } from './errors';

export const MAX_BODY_BYTES = 16 * 1024;

/** `WWW-Authenticate` of a 401, per authentication mode. */
const CHALLENGE = { 'api-key': 'Bearer', iam: 'AWS4-HMAC-SHA256' } as const;

export interface RouteSpec<P, Q, B> {
  /** `public` routes need no key (health). */
  roles: readonly Role[] | 'public';
  params?: z.ZodType<P>;
  /** Without one, the route takes no query parameters: any is refused. */
  query?: z.ZodType<Q>;
  /** Without one, the route takes no body: anything but none or `{}` is refused. */
  body?: z.ZodType<B>;
}

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
  /** `body` is a string sent as it is, with the content type of `headers` (the dashboard's page and assets); JSON otherwise. */
  raw?: boolean;
  /** What the audit line should also say about this request (e.g. the endpoints a claim got). Never secrets. */
  audit?: Record<string, unknown>;
}

function stateOf(event: ApiEvent): ApiState {
  if (!event.api) throw new Error('httpHandler: the request middlewares did not run');
  return event.api;
}

/**
 * A route's Lambda: the handler sees a validated request from a known caller and returns a status
 * and a JSON body; the middlewares do the rest, each one thing (lib/http/middlewares):
 *
 *   before, in order:  Powertools logger context and metrics -> auditTrail starts its clock ->
 *                      header names lower-cased (@middy/http-header-normalizer) -> authenticate
 *                      -> parseRequest -> validateRequest
 *   after / on error:  errorResponses (refusal -> status, transient -> 503, bug -> 500)
 *                      -> @middy/http-error-handler renders it -> compressResponses (large
 *                      answers, gzip when accepted) -> apiHeaders -> auditTrail (one line)
 *
 * Errors have one shape, `{ error: { code, message, details? } }`.
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
  return (
    middy<ApiEvent, ApiResponse>()
      // Never the event, whatever POWERTOOLS_LOGGER_LOG_EVENT says: it carries the Authorization header.
      .use(injectLambdaContext(deps.logger, { resetKeys: true, logEvent: false }))
      .use(logMetrics(deps.metrics))
      .use(auditTrail(deps.logger))
      .use(httpHeaderNormalizer())
      .use(apiHeaders())
      .use(compressResponses())
      .use(httpErrorHandler({ logger: false, fallbackMessage: INTERNAL_ERROR_BODY }))
      .use(errorResponses({ logger: deps.logger, challenge: CHALLENGE[authenticator.mode] }))
      .use(authenticate(authenticator, spec.roles))
      .use(parseRequest({ maxBodyBytes: MAX_BODY_BYTES }))
      .use(validateRequest({ params: spec.params, query: spec.query, body: spec.body }))
      .handler(async (event: ApiEvent): Promise<ApiResponse> => {
        const state = stateOf(event);
        const result = await handle({
          params: state.params as P,
          query: state.query as Q,
          body: state.body as B,
          requestId: state.requestId,
          headers: event.headers ?? {},
          ...(state.caller ? { caller: state.caller } : {}),
        });
        state.audit = result.audit;
        const body = result.raw ? String(result.body) : JSON.stringify(result.body);
        return { statusCode: result.statusCode, headers: result.headers ?? {}, body };
      })
  );
}
