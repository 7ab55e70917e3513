import type { MiddlewareObj, Request } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Caller } from '../auth';

/**
 * What the middlewares learn about one request, kept on the event they hand to the handler (as
 * middy's own parsers replace `event.body`): who calls, the input as read and as validated, and
 * what the audit line should say.
 */
export interface ApiState {
  /** The API Gateway request id (the access log's and `x-request-id`). */
  requestId: string;
  /** `performance.now()` when the request came in. */
  startedAt: number;
  caller?: Caller;
  /** Path parameters, query and body as read off the wire (parseRequest), not validated yet. */
  raw?: { params: Record<string, string>; query: Record<string, string | undefined>; body: unknown };
  /** Each part once its schema accepted it (validateRequest). */
  params?: unknown;
  query?: unknown;
  body?: unknown;
  /** The code the request was refused with (errorResponses): `internal` for a bug. */
  refusedWith?: string;
  /** What the handler asked the audit line to add (never secrets). */
  audit?: Record<string, unknown>;
}

export type ApiEvent = APIGatewayProxyEventV2 & { api?: ApiState };
export type ApiResponse = APIGatewayProxyStructuredResultV2;
export type ApiRequest = Request<ApiEvent, ApiResponse>;
export type ApiMiddleware = MiddlewareObj<ApiEvent, ApiResponse>;

/**
 * The request's state, created on first use. The event is copied first, so that state never
 * outlives its invocation in an event object the caller passes again.
 */
export function apiState(request: ApiRequest): ApiState {
  if (!request.event.api) {
    const requestId = request.event.requestContext?.requestId ?? request.context?.awsRequestId ?? 'local';
    request.event = { ...request.event, api: { requestId, startedAt: performance.now() } };
  }
  return request.event.api!;
}
