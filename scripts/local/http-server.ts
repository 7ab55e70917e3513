import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import dashboardAssets from '../../infra/dashboard-assets.cjs';
import catalogue from '../../infra/functions.cjs';
import type { Deps } from '../../lib/deps';
import { FunctionInstances } from './function-instances';
import { lambdaContext } from './lambda-context';

type HttpLambda = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

interface Route {
  method: string;
  routeKey: string;
  pattern: RegExp;
  names: string[];
  functionName: string;
  /** Invokes the function as Lambda does: on an idle instance, or a new one (FunctionInstances). */
  handler: HttpLambda;
  instances: FunctionInstances<APIGatewayProxyEventV2, Context, APIGatewayProxyStructuredResultV2>;
}

export interface InstanceOptions {
  /** Instances per function at most (its concurrency limit); past it, requests wait. Default DEFAULT_MAX_INSTANCES. */
  maxInstances?: number;
  /**
   * The deps of a new instance (a cold start). Default: the server's own deps object, whose
   * DynamoDB client, logger and metrics the instances share; their caches are their own either way.
   */
  instanceDeps?: () => Deps;
}

/** Instances per function at most, by default: far above what one machine's claimers need at once. */
export const DEFAULT_MAX_INSTANCES = 128;

/** Largest request the local server accepts (API Gateway's own limit is 10 MB; handlers cap bodies lower). */
const MAX_REQUEST_BYTES = 1024 * 1024;

/** `/claims/{claimId}/confirm` -> a regex with one capture per path parameter (one segment each). */
export function compileRoute(path: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = path
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(param[1]!);
      return '([^/]+)';
    })
    .join('/');
  return { pattern: new RegExp(`^${source}$`), names };
}

/**
 * What esbuild's `define` writes into the dashboard routes' bundles on AWS: the dashboard's build
 * (infra/dashboard-assets.cjs), made once per process before the routes load.
 */
export function installDashboardBuild(): void {
  const global = globalThis as { __DASHBOARD_ASSETS__?: string };
  global.__DASHBOARD_ASSETS__ ??= dashboardAssets.encodeDashboardAssets(dashboardAssets.buildDashboardAssets());
}

/**
 * Loads every HTTP function of the catalogue. Each runs on instances made on demand, one request
 * at a time each, as Lambda runs them: an instance is `makeHandler(deps)` (module initialisation,
 * with its own caches: candidate listings, key ring, single flight), built at its first request.
 */
export async function loadRoutes(deps: Deps, options: InstanceOptions = {}): Promise<Route[]> {
  installDashboardBuild();
  const routes: Route[] = [];
  const instanceDeps = options.instanceDeps ?? (() => deps);
  for (const definition of catalogue) {
    if (!definition.http) continue;
    const module = (await import(`../../${definition.file}`)) as { makeHandler: (deps: Deps) => HttpLambda };
    const { pattern, names } = compileRoute(definition.http.path);
    const instances = new FunctionInstances(() => module.makeHandler(instanceDeps()), options.maxInstances ?? DEFAULT_MAX_INSTANCES);
    routes.push({
      method: definition.http.method,
      routeKey: `${definition.http.method} ${definition.http.path}`,
      pattern,
      names,
      functionName: definition.name,
      handler: (event, context) => instances.invoke(event, context),
      instances,
    });
  }
  return routes;
}

function toEvent(request: IncomingMessage, url: URL, route: Route, match: RegExpExecArray, body: string): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  // Repeated parameters are joined with commas, as API Gateway does. Built through a Map so that
  // names such as `__proto__` or `constructor` arrive as ordinary parameters.
  const joined = new Map<string, string>();
  for (const [name, value] of url.searchParams) joined.set(name, joined.has(name) ? `${joined.get(name)},${value}` : value);
  const query: Record<string, string> = Object.fromEntries(joined);
  const pathParameters: Record<string, string> = {};
  route.names.forEach((name, i) => {
    pathParameters[name] = match[i + 1]!;
  });
  const now = new Date();
  return {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(route.names.length ? { pathParameters } : {}),
    ...(body ? { body, isBase64Encoded: false } : { isBase64Encoded: false }),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: 'local',
      http: {
        method: route.method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: route.routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
  };
}

function sendJson(response: ServerResponse, statusCode: number, body: unknown): void {
  response.writeHead(statusCode, { 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(body));
}

/**
 * Serves the catalogue's HTTP routes the way API Gateway (HTTP API, payload v2) invokes Lambda:
 * the same event shape, path parameters left URL-encoded, the handler's structured result
 * written back as is, each function on instances that serve one request at a time (loadRoutes),
 * so that concurrent requests race across instances with separate caches, as on AWS.
 */
/** How long an idle keep-alive connection stays open (API Gateway and ALBs keep them about 60 s). */
const KEEP_ALIVE_MS = 65_000;

export async function startHttpServer(
  deps: Deps,
  options: { port: number; host?: string } & InstanceOptions,
): Promise<{ server: Server; url: string; instances(): Record<string, ReturnType<Route['instances']['stats']>>; close(): Promise<void> }> {
  const routes = await loadRoutes(deps, options);
  const server = createServer(async (request, response) => {
    try {
      // Origin-form targets are taken as a path, never resolved against the base: `//x` is the
      // path `//x`, not the host `x`. Anything unparseable is refused as a bad path.
      const target = request.url ?? '/';
      let url: URL;
      try {
        url = target.startsWith('/') ? new URL(`http://local${target}`) : new URL(target, 'http://local');
      } catch {
        return sendJson(response, 400, { error: { code: 'request.invalid_path', message: 'Request target is not a valid path' } });
      }
      const candidates = routes.map((route) => ({ route, match: route.pattern.exec(url.pathname) })).filter((c) => c.match);
      const hit = candidates.find((c) => c.route.method === request.method);
      if (!hit) {
        return candidates.length
          ? sendJson(response, 405, { error: { code: 'route.method_not_allowed', message: `${request.method} is not allowed on ${url.pathname}` } })
          : sendJson(response, 404, { error: { code: 'route.not_found', message: `No route for ${request.method} ${url.pathname}` } });
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of request) {
        size += (chunk as Buffer).length;
        if (size > MAX_REQUEST_BYTES) {
          return sendJson(response, 413, { error: { code: 'request.too_large', message: 'Request body too large' } });
        }
        chunks.push(chunk as Buffer);
      }
      const event = toEvent(request, url, hit.route, hit.match!, Buffer.concat(chunks).toString('utf8'));
      const result = await hit.route.handler(event, lambdaContext(hit.route.functionName, event.requestContext.requestId));
      response.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
      response.end(result.isBase64Encoded && result.body ? Buffer.from(result.body, 'base64') : (result.body ?? ''));
    } catch (error) {
      deps.logger.error('local http server error', { error: error as Error });
      if (!response.headersSent) sendJson(response, 500, { error: { code: 'internal', message: 'Internal error' } });
      else response.end();
    }
  });
  // Idle keep-alive connections stay open as long as a load balancer keeps them (Node's default is
  // 5 s): a client that pauses between requests must not find its socket closed under it.
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    server,
    url: `http://${host}:${port}`,
    instances: () => Object.fromEntries(routes.map((route) => [route.functionName, route.instances.stats()])),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
