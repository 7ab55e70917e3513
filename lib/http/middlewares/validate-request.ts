import { z } from 'zod';
import { HttpError } from '../errors';
import { apiState, type ApiMiddleware } from '../state';

/** Validation messages quote field and parameter names; a caller's very long names are cut. */
const MAX_ERROR_MESSAGE_LENGTH = 500;
/** What a route without a query schema accepts: nothing. */
const NO_QUERY = z.strictObject({});
/** What a route without a body schema accepts: no body, or an empty JSON object. */
const NO_BODY = z.strictObject({}).optional();

export interface RequestSchemas {
  params?: z.ZodType;
  /** Without one, the route takes no query parameters: any is refused. */
  query?: z.ZodType;
  /** Without one, the route takes no body: anything but none or `{}` is refused. An optional schema: the body may be left out. */
  body?: z.ZodType;
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

function validate(schema: z.ZodType, value: unknown, where: 'path' | 'query' | 'body'): unknown {
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpError(`request.invalid_${where}`, 400, `Invalid ${where}: ${describeIssues(result.error, where)}`);
  return result.data;
}

/**
 * Validates what parseRequest read against the route's zod schemas, path first, then query, then
 * body, and keeps each part as its schema returns it, defaults applied. The first part refused
 * answers 400 `request.invalid_<part>` naming up to five issues.
 *
 * Not @middy/validator: it takes JSON Schema (Ajv), not zod; our schemas are zod and apply the
 * defaults, and the OpenAPI document is generated from them.
 */
export function validateRequest(schemas: RequestSchemas): ApiMiddleware {
  const query = schemas.query ?? NO_QUERY;
  const body = schemas.body ?? NO_BODY;
  return {
    name: 'validateRequest',
    before: async (request) => {
      const state = apiState(request);
      if (!state.raw) throw new Error('validateRequest: parseRequest must run first');
      if (schemas.params) state.params = validate(schemas.params, state.raw.params, 'path');
      state.query = validate(query, state.raw.query, 'query');
      state.body = validate(body, state.raw.body, 'body');
    },
  };
}
