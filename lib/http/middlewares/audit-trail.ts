import type { Deps } from '../../deps';
import { apiState, type ApiMiddleware, type ApiRequest } from '../state';

/** The claim id and endpoint of validated path parameters or body. */
function subjectOf(...parts: unknown[]): Record<string, string> {
  const subject: Record<string, string> = {};
  for (const values of parts) {
    if (typeof values !== 'object' || values === null) continue;
    for (const field of ['claimId', 'endpoint'] as const) {
      const value = (values as Record<string, unknown>)[field];
      if (typeof value === 'string') subject[field] = value;
    }
  }
  return subject;
}

function writeLine(logger: Deps['logger'], request: ApiRequest): void {
  const state = apiState(request);
  const route = request.event.routeKey ?? request.event.requestContext?.routeKey;
  const caller = state.caller;
  logger.info('request', {
    requestId: state.requestId,
    ...(route ? { route } : {}),
    ...(caller ? { principal: caller.name, principalId: caller.principal, role: caller.role, ...(caller.keyId ? { keyId: caller.keyId } : {}) } : {}),
    ...subjectOf(state.params, state.body),
    ...state.audit,
    status: request.response?.statusCode ?? 500,
    outcome: state.refusedWith ?? 'ok',
    latencyMs: Math.round((performance.now() - state.startedAt) * 10) / 10,
  });
}

/**
 * The audit trail: exactly one structured line per request (`message: "request"`), whatever the
 * outcome, with the request id (the same as the HTTP API's access log), the principal (key name or
 * IAM ARN, never a key or its digest), role, route, the claim id / endpoint the request was about,
 * the answer (status, error code) and the latency. A refused request says who was refused.
 * It runs outside the error handler, so it sees the status the caller got.
 */
export function auditTrail(logger: Deps['logger']): ApiMiddleware {
  return {
    name: 'auditTrail',
    before: async (request) => {
      apiState(request);
    },
    after: async (request) => writeLine(logger, request),
    onError: async (request) => writeLine(logger, request),
  };
}
