import { z } from 'zod';
import catalogue from '../../infra/functions.cjs';
import { ROUTE_SCHEMAS, type RouteName, type RouteSchemas } from './routes';
import {
  ClaimRequestSchema,
  ClaimResultSchema,
  ClaimSchema,
  ErrorSchema,
  GameServerSchema,
  HealthSchema,
  InventorySchema,
  LoadBalancerListSchema,
  LoadBalancerSchema,
  ServerListSchema,
  SetAvailableResultSchema,
  SetBusyResultSchema,
} from '../../schemas/http';

type JsonSchema = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
const schemaOf = (schema: z.ZodType, io: 'input' | 'output' = 'output') => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
};

/** The named schemas of the document: the resources, and every answer that is more than one. */
const COMPONENTS: Record<string, z.ZodType> = {
  GameServer: GameServerSchema,
  LoadBalancer: LoadBalancerSchema,
  Claim: ClaimSchema,
  ClaimRequest: ClaimRequestSchema,
  ClaimResult: ClaimResultSchema,
  Inventory: InventorySchema,
  Health: HealthSchema,
  ServerList: ServerListSchema,
  LoadBalancerList: LoadBalancerListSchema,
  SetBusyResult: SetBusyResultSchema,
  SetAvailableResult: SetAvailableResultSchema,
  Error: ErrorSchema,
};
const COMPONENT_NAMES = new Map<z.ZodType, string>(Object.entries(COMPONENTS).map(([name, schema]) => [schema, name]));

/** A component by reference, any other schema inline. */
const schemaOrRef = (schema: z.ZodType, io: 'input' | 'output') => {
  const name = COMPONENT_NAMES.get(schema);
  return name ? ref(name) : schemaOf(schema, io);
};

/** The named schemas (GameServer, Claim, ...) as components, referencing each other by $ref. */
function componentSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(COMPONENTS)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { io: 'input', unrepresentable: 'any', uri: (id) => `#/components/schemas/${id}` });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      const { $schema: _s, $id: _i, id: _id, ...rest } = schema as JsonSchema;
      return [id, rest];
    }),
  );
}

const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [
      String(status),
      {
        description: {
          400: 'Invalid path, query or body (nothing written)',
          401: 'Missing or unknown API key',
          403: 'The caller role may not call this route',
          404: 'Not found (a claim of another principal is answered exactly like one that does not exist)',
          409: 'Conflict (see error.code)',
          413: 'Body too large',
          415: 'Body is not JSON',
          503: 'service.unavailable: DynamoDB throttled, timed out or was unreachable; retry the same request after Retry-After (every write is safe to repeat)',
        }[status],
        content: json(ref('Error')),
      },
    ]),
  );

const AUTH = [400, 401, 403];
/** Routes that read or write DynamoDB answer 503 `service.unavailable` (with Retry-After) when it throttles, times out or is unreachable. */
const DATA = [...AUTH, 503];

/** What the document says of a route in words; its parameters, body and answer come from ROUTE_SCHEMAS. */
interface OperationText {
  /** The 200 answer. */
  ok: string;
  /** Error statuses, each answered with the Error schema. */
  errors: number[];
  /** Query parameters by name; `label.{key}`: the route filters by labels. */
  query?: Record<string, string>;
  /** A 200 that is not JSON (the dashboard's page and assets): its media types. */
  media?: string[];
}

/** Every path parameter of the API, by the name its routes' paths give it (`{endpoint}`). */
const PATH_PARAMETER_TEXT: Record<string, string> = {
  endpoint: 'Game server `ip:port`, URL-encoded (`10.0.0.1%3A7777`) or literal',
  claimId: 'The claim id chosen by the claimer',
  file: "An asset's content-hashed name, as the dashboard's page names it",
};

/** The words of each HTTP route, by its registry name (infra/functions.cjs). */
const OPERATION_TEXT: Record<RouteName, OperationText> = {
  health: { ok: 'ok', errors: [] },
  'get-available-gs': {
    ok: 'Servers',
    errors: DATA,
    query: { region: 'Region', group: 'Server group', limit: 'Maximum servers', distinctNodes: 'At most one server per node (default false)', 'label.{key}': 'Label filter: `label.map=dust`' },
  },
  'set-gs-busy': { ok: 'Busy', errors: [...DATA, 404, 409, 413, 415] },
  'set-gs-available': { ok: 'Released or not held', errors: [...DATA, 404, 413, 415] },
  'claim-gs': { ok: 'Claimed (or the earlier result for this claimId: `replayed: true`)', errors: [...DATA, 409, 413, 415] },
  'get-claim': { ok: 'The claim and its servers', errors: [...DATA, 404] },
  'confirm-claim': { ok: 'The claim and its servers', errors: [...DATA, 404, 409] },
  'renew-claim': { ok: 'The claim and its servers', errors: [...DATA, 404, 409, 413, 415] },
  'release-claim': { ok: 'The claim and its servers', errors: [...DATA, 404] },
  'replace-claim-server': { ok: 'The claim with the replacement in place of the lost server (a retry: the same pair, `replayed: true`)', errors: [...DATA, 404, 409, 413, 415] },
  'get-gs': { ok: 'The server', errors: [...DATA, 404] },
  'get-available-lb': { ok: 'Load balancers', errors: DATA, query: { region: 'Region', limit: 'Maximum' } },
  inventory: { ok: 'Counts', errors: DATA },
  fleet: { ok: 'Every server of the fleet (or of the region, the group)', errors: DATA, query: { region: 'Region', group: 'Server group' } },
  'recent-events': { ok: 'The latest notifications, newest first', errors: DATA, query: { limit: 'Maximum events (1-200, default 50)' } },
  dashboard: { ok: 'The page', errors: [400], media: ['text/html'] },
  'dashboard-asset': { ok: 'The script or style sheet', errors: [400, 404], media: ['text/javascript', 'text/css'] },
  asyncapi: { ok: 'AsyncAPI 3.0', errors: [401] },
  openapi: { ok: 'OpenAPI 3.1', errors: [401] },
};

/** The fields of an object schema, or of the object a query's transform pipes into. */
function fieldsOf(schema: z.ZodType): Record<string, z.ZodType> {
  const target = schema instanceof z.ZodPipe ? (schema.out as z.ZodType) : schema;
  if (!(target instanceof z.ZodObject)) throw new Error('lib/http/openapi.ts: query and path schemas must be objects');
  return target.shape as Record<string, z.ZodType>;
}

function parametersOf(name: string, path: string, schemas: RouteSchemas, text: OperationText): JsonSchema[] {
  const pathFields = schemas.params ? fieldsOf(schemas.params) : {};
  const inPath = pathParameterNames(path).map((parameter) => {
    const schema = pathFields[parameter];
    const description = PATH_PARAMETER_TEXT[parameter];
    if (!schema || !description) throw new Error(`lib/http/openapi.ts: no schema or description of path parameter ${parameter} (${name})`);
    return { name: parameter, in: 'path', required: true, description, schema: schemaOf(schema, 'input') };
  });
  const queryFields = schemas.query ? fieldsOf(schemas.query) : {};
  const inQuery = Object.entries(text.query ?? {}).map(([parameter, description]) => {
    if (parameter === 'label.{key}') {
      if (!queryFields.labels) throw new Error(`lib/http/openapi.ts: ${name} has no label filter`);
      return { name: parameter, in: 'query', required: false, description, schema: { type: 'string' } };
    }
    const schema = queryFields[parameter];
    if (!schema) throw new Error(`lib/http/openapi.ts: ${name} has no query parameter ${parameter}`);
    return { name: parameter, in: 'query', required: false, description, schema: schemaOf(schema, 'input') };
  });
  const undescribed = Object.keys(queryFields).filter((field) => field !== 'labels' && !(field in (text.query ?? {})));
  if (undescribed.length) throw new Error(`lib/http/openapi.ts: undescribed query parameters of ${name}: ${undescribed.join(', ')}`);
  return [...inPath, ...inQuery];
}

function requestBodyOf(schema: z.ZodType | undefined): JsonSchema | undefined {
  if (!schema) return undefined;
  const optional = schema instanceof z.ZodOptional;
  const body = optional ? (schema.unwrap() as z.ZodType) : schema;
  return { required: !optional, content: json(schemaOrRef(body, 'input')) };
}

/** The 200's content: the route's JSON schema, or its media types for a page or asset. */
function okContent(schemas: RouteSchemas, text: OperationText): { content?: Record<string, JsonSchema> } {
  if (text.media) return { content: Object.fromEntries(text.media.map((type) => [type, { schema: { type: 'string' } }])) };
  return schemas.response ? { content: json(schemaOrRef(schemas.response, 'output')) } : {};
}

/** `/claims/{claimId}/confirm` -> ['claimId']. */
const pathParameterNames = (path: string) => [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);

/**
 * The `paths` object: one operation per HTTP route of the registry (infra/functions.cjs), in its
 * order, its parameters, body and answer from the route's schemas (ROUTE_SCHEMAS). Throws if a
 * route has no schemas or words here.
 */
function buildPaths(): Record<string, Record<string, JsonSchema>> {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const definition of catalogue) {
    const route = definition.http;
    if (!route) continue;
    const name = definition.name as RouteName;
    const schemas: RouteSchemas | undefined = ROUTE_SCHEMAS[name];
    const text = OPERATION_TEXT[name];
    if (!schemas || !text) throw new Error(`lib/http/openapi.ts: no schemas or OpenAPI text for route ${definition.name}`);
    const parameters = parametersOf(name, route.path, schemas, text);
    const requestBody = requestBodyOf(schemas.body);
    (paths[route.path] ??= {})[route.method.toLowerCase()] = {
      summary: route.summary,
      ...(route.public ? { security: [] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses: {
        200: { description: text.ok, ...okContent(schemas, text) },
        ...errors(...text.errors),
      },
    };
  }
  return paths;
}

/**
 * The OpenAPI 3.1 description of the HTTP API: its paths are the registry's HTTP routes
 * (infra/functions.cjs), their schemas the same zod schemas the handlers validate with (JSON
 * Schema 2020-12, which OpenAPI 3.1 uses as is).
 */
export function buildOpenApiDocument(serverUrl?: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Game-server inventory and matchmaking API',
      version: '1.0.0',
      description:
        'Lists available dedicated game servers and claims them atomically (leased, idempotent, all-or-nothing groups on distinct nodes). A claim belongs to the principal that made it (the API key\'s name, or the IAM principal): only it, or a caller with the `admin` role, sees its claim id and may confirm, renew or release it. Errors are `{ "error": { "code", "message" } }`.',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    security: [{ apiKey: [] }],
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'API key: `Authorization: Bearer <key>`' } },
      schemas: componentSchemas(),
    },
    paths: buildPaths(),
  };
}
