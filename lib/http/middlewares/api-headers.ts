import { normalizeHttpResponse } from '@middy/util';
import { apiState, type ApiMiddleware, type ApiRequest } from '../state';

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
const JSON_TYPE = /^application\/json\s*(;|$)/i;

/** What every answer of the API carries, errors included. */
export const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
};

function withHeaders(request: ApiRequest): void {
  const response = normalizeHttpResponse(request) as NonNullable<ApiRequest['response']>;
  const own: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers ?? {})) own[name.toLowerCase()] = String(value);
  const contentType = own['content-type'];
  response.headers = {
    ...SECURITY_HEADERS,
    'x-request-id': apiState(request).requestId,
    ...own,
    // Every body is JSON, sent with its charset; only a handler answering another type keeps its own.
    'content-type': contentType && !JSON_TYPE.test(contentType) ? contentType : JSON_CONTENT_TYPE,
  };
}

/**
 * The answer's headers: JSON content type, no caching, the security headers and `x-request-id`,
 * on every answer, errors included. Header names are lower case; a handler's own headers (e.g.
 * Retry-After) are kept.
 *
 * Not @middy/http-security-headers: it sends a Content-Security-Policy only with HTML (a JSON API
 * should send one too) and adds browser-document headers (Permissions-Policy, Reporting-Endpoints,
 * Origin-Agent-Cluster, ...) that mean nothing for JSON; these six are all an API answer needs.
 */
export function apiHeaders(): ApiMiddleware {
  return {
    name: 'apiHeaders',
    after: async (request) => withHeaders(request),
    onError: async (request) => {
      if (request.response !== undefined) withHeaders(request);
    },
  };
}
