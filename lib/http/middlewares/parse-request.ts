import { HttpError } from '../errors';
import { apiState, type ApiEvent, type ApiMiddleware } from '../state';

/** A JSON media type: `application/json`, `application/vnd.x+json`, with parameters. */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

/**
 * `__proto__` is never a field of ours. It must be refused before validation: zod's records skip
 * such keys silently, which would turn `labels: {"__proto__": ...}` into "no labels".
 */
function forbiddenKeyError(where: 'query' | 'body'): HttpError {
  return new HttpError(`request.invalid_${where}`, 400, `Invalid ${where}: __proto__ is not allowed as a name`);
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

function readQuery(event: ApiEvent): Record<string, string | undefined> {
  const query = event.queryStringParameters ?? {};
  if (Object.hasOwn(query, '__proto__')) throw forbiddenKeyError('query');
  return { ...query };
}

function readBody(event: ApiEvent, maxBodyBytes: number): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(text, 'utf8') > maxBodyBytes) {
    throw new HttpError('request.too_large', 413, `Request body exceeds ${maxBodyBytes} bytes`);
  }
  const contentType = event.headers?.['content-type'];
  if (contentType && !JSON_MEDIA_TYPE.test(contentType)) {
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
 * Reads the request off the wire: path parameters URL-decoded (400 for a bad escape), the query
 * and the JSON body (413 above `maxBodyBytes`, 415 for a body that says it is not JSON, 400 for
 * malformed JSON, 400 for a `__proto__` name anywhere). No body, or an empty one, reads as none.
 *
 * Not @middy/http-json-body-parser: it requires a JSON content type even from callers that send
 * none (ours accept that), answers malformed JSON with 415 rather than 400 `request.invalid_json`,
 * refuses requests without a body, and has no size limit.
 */
export function parseRequest(options: { maxBodyBytes: number }): ApiMiddleware {
  return {
    name: 'parseRequest',
    before: async (request) => {
      const params = decodePathParameters(request.event.pathParameters);
      const query = readQuery(request.event);
      const body = readBody(request.event, options.maxBodyBytes);
      apiState(request).raw = { params, query, body };
    },
  };
}
