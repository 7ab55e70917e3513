import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { KEYS } from './api-keys';

export interface ApiRequest {
  method?: string;
  /** The route template, e.g. `/claims/{claimId}/confirm`. */
  route: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** A raw body string (sent as is). */
  rawBody?: string;
  headers?: Record<string, string>;
  /** API key; null sends none. Defaults to the matchmaker key. */
  key?: string | null;
}

/** An API Gateway HTTP API (payload 2.0) event, as Lambda receives it. */
export function apiEvent(request: ApiRequest): APIGatewayProxyEventV2 {
  const method = request.method ?? 'GET';
  const rawPath = request.route.replace(/\{(\w+)\}/g, (_m, name: string) => request.pathParameters?.[name] ?? '');
  const key = request.key === undefined ? KEYS.matchmaker : request.key;
  const body = request.rawBody ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
  const requestId = randomUUID();
  return {
    version: '2.0',
    routeKey: `${method} ${request.route}`,
    rawPath,
    rawQueryString: new URLSearchParams(request.query ?? {}).toString(),
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(key !== null ? { authorization: `Bearer ${key}` } : {}),
      ...request.headers,
    },
    ...(request.query ? { queryStringParameters: request.query } : {}),
    ...(request.pathParameters ? { pathParameters: request.pathParameters } : {}),
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'test',
      domainName: 'test',
      domainPrefix: 'test',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId,
      routeKey: `${method} ${request.route}`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
  };
}
