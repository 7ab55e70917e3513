import type { Authenticator, Caller, Role } from '../../auth';
import { HttpError } from '../errors';
import { apiState, type ApiEvent, type ApiMiddleware } from '../state';

/** `Authorization: Bearer <key>`; request header names are lower case (httpHeaderNormalizer, API Gateway). */
function bearerToken(event: ApiEvent): string | undefined {
  const value = event.headers?.authorization;
  const match = value ? /^Bearer\s+(\S{1,512})\s*$/i.exec(value) : null;
  return match?.[1];
}

/** The IAM principal API Gateway verified (IAM authorization mode), if any. */
function iamArnOf(event: ApiEvent): string | undefined {
  const arn = (event.requestContext as { authorizer?: { iam?: { userArn?: unknown } } } | undefined)?.authorizer?.iam?.userArn;
  return typeof arn === 'string' ? arn : undefined;
}

async function callerOf(authenticator: Authenticator, event: ApiEvent): Promise<Caller> {
  const token = bearerToken(event);
  const iamArn = iamArnOf(event);
  const outcome = await authenticator.authenticate({ ...(token ? { bearer: token } : {}), ...(iamArn ? { iamArn } : {}) });
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
}

/**
 * Who calls, and may they call this route: 401 without a valid key (or a known IAM principal),
 * 403 for a role the route does not admit, 503 while the key ring cannot be read. Public routes
 * pass without a caller. The caller is kept for the handler and the audit line.
 */
export function authenticate(authenticator: Authenticator, roles: readonly Role[] | 'public'): ApiMiddleware {
  return {
    name: 'authenticate',
    before: async (request) => {
      if (roles === 'public') return;
      const state = apiState(request);
      state.caller = await callerOf(authenticator, request.event);
      if (!roles.includes(state.caller.role)) {
        throw new HttpError('auth.forbidden', 403, `The ${state.caller.role} role may not call this route`);
      }
    },
  };
}
