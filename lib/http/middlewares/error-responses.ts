import type { Deps } from '../../deps';
import { isTransientError } from '../../dynamo';
import { DomainError, ServiceUnavailableError } from '../../errors';
import { errorBody, HttpError, refusalOf } from '../errors';
import { apiState, type ApiMiddleware } from '../state';

/** What the API answers for a bug: a bare 500 that leaks nothing (@middy/http-error-handler's fallback). */
export const INTERNAL_ERROR_BODY = JSON.stringify(errorBody('internal', 'Internal error'));

/**
 * Turns whatever a request failed with into the error @middy/http-error-handler renders (an
 * exposed http error whose message is our JSON error body), in one place:
 * - a refusal keeps its status: HttpError its own, a DomainError the one DOMAIN_STATUS gives its code;
 * - throttling, timeouts and lost connections become 503 `service.unavailable` with Retry-After:
 *   the caller can retry the same request (every write is safe to repeat), so never 500;
 * - anything else is a bug: logged with its stack, then answered with the bare fallback 500.
 * A 401 carries the `WWW-Authenticate` challenge of the authentication mode; a refusal with
 * `retryAfterSeconds` in its details carries `Retry-After`.
 */
export function errorResponses(options: { logger: Deps['logger']; challenge: string }): ApiMiddleware {
  return {
    name: 'errorResponses',
    onError: async (request) => {
      const state = apiState(request);
      const caught = request.error;
      const error = !(caught instanceof HttpError || caught instanceof DomainError) && isTransientError(caught) ? new ServiceUnavailableError(undefined, { cause: caught }) : caught;
      if (error instanceof ServiceUnavailableError) options.logger.warn('dependency unavailable', { requestId: state.requestId, error: (error.cause ?? error) as Error });
      const refusal = refusalOf(error);
      if (!refusal) {
        options.logger.error('unhandled error', { requestId: state.requestId, error: error as Error });
        state.refusedWith = 'internal';
        // No statusCode: the error handler answers its fallback, whatever the error carried.
        request.error = new Error('internal', { cause: error });
        return;
      }
      state.refusedWith = refusal.code;
      const headers: Record<string, string> = {};
      if (refusal.statusCode === 401) headers['www-authenticate'] = options.challenge;
      if (typeof refusal.details?.retryAfterSeconds === 'number') headers['retry-after'] = String(refusal.details.retryAfterSeconds);
      // The shape @middy/http-error-handler renders (http-errors' statusCode, expose, message,
      // headers), as a plain object: the refusal was already an Error, a second stack costs time.
      request.error = { name: 'HttpResponseError', statusCode: refusal.statusCode, expose: true, message: JSON.stringify(errorBody(refusal.code, refusal.message, refusal.details)), headers } as Error;
    },
  };
}
