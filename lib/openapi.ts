import { z } from 'zod';
import catalogue from '../infra/functions.cjs';
import {
  ClaimRequestSchema,
  ClaimSchema,
  ErrorSchema,
  GameServerSchema,
  InventorySchema,
  LoadBalancerSchema,
  RenewBodySchema,
  SetBusyBodySchema,
} from '../schemas/http';
import { ClaimIdSchema, EndpointSchema, GroupSchema, RegionSchema } from '../schemas/primitives';

type JsonSchema = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
const schemaOf = (schema: z.ZodType, io: 'input' | 'output' = 'output') => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
};

/** The named schemas (GameServer, Claim, ...) as components, referencing each other by $ref. */
function componentSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries({
    GameServer: GameServerSchema,
    LoadBalancer: LoadBalancerSchema,
    Claim: ClaimSchema,
    ClaimRequest: ClaimRequestSchema,
    Inventory: InventorySchema,
    Error: ErrorSchema,
  })) {
    registry.add(schema, { id });
  }
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
const pathParam = (name: string, schema: z.ZodType, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: schemaOf(schema, 'input'),
});
const queryParam = (name: string, schema: JsonSchema, description: string) => ({ name, in: 'query', required: false, description, schema });

/** What the OpenAPI document says of one route beyond the registry's method, path, summary and roles. */
interface OperationDetails {
  /** Query parameters; path parameters follow from the path (PATH_PARAMETERS). */
  query?: JsonSchema[];
  requestBody?: { required: boolean; content: JsonSchema };
  /** The 200 response. */
  ok: { description: string; content?: JsonSchema };
  /** Error statuses, each answered with the Error schema. */
  errors: number[];
}

/** Every path parameter of the API, by the name its routes' paths give it (`{endpoint}`). */
function pathParameters(): Record<string, JsonSchema> {
  return {
    endpoint: pathParam('endpoint', EndpointSchema, 'Game server `ip:port`, URL-encoded (`10.0.0.1%3A7777`) or literal'),
    claimId: pathParam('claimId', ClaimIdSchema, 'The claim id chosen by the claimer'),
  };
}

/** The schemas of each HTTP route, by its registry name (infra/functions.cjs). */
function operationDetails(): Record<string, OperationDetails> {
  const claimResponse = { description: 'The claim and its servers', content: json(ref('Claim')) };
  return {
    health: { ok: { description: 'ok', content: json({ type: 'object', properties: { status: { const: 'ok' } } }) }, errors: [] },
    'get-available-gs': {
      query: [
        queryParam('region', schemaOf(RegionSchema), 'Region'),
        queryParam('group', schemaOf(GroupSchema), 'Server group'),
        queryParam('limit', { type: 'integer', minimum: 1, maximum: 100, default: 10 }, 'Maximum servers'),
        queryParam('distinctNodes', { type: 'boolean', default: false }, 'At most one server per node'),
        { name: 'label.{key}', in: 'query', required: false, description: 'Label filter: `label.map=dust`', schema: { type: 'string' } },
      ],
      ok: { description: 'Servers', content: json({ type: 'object', properties: { servers: { type: 'array', items: ref('GameServer') } }, required: ['servers'] }) },
      errors: DATA,
    },
    'set-gs-busy': {
      requestBody: { required: false, content: json(schemaOf(SetBusyBodySchema.unwrap(), 'input')) },
      ok: {
        description: 'Busy',
        content: json({ type: 'object', properties: { server: ref('GameServer'), claimId: { type: 'string' }, holdExpiresAt: { type: 'string', format: 'date-time' } }, required: ['server', 'claimId', 'holdExpiresAt'] }),
      },
      errors: [...DATA, 404, 409, 413, 415],
    },
    'set-gs-available': {
      requestBody: { required: true, content: json({ type: 'object', properties: { claimId: schemaOf(ClaimIdSchema) }, required: ['claimId'], additionalProperties: false }) },
      ok: { description: 'Released or not held', content: json({ type: 'object', properties: { released: { type: 'boolean' }, server: ref('GameServer') }, required: ['released', 'server'] }) },
      errors: [...DATA, 404, 413, 415],
    },
    'claim-gs': {
      requestBody: { required: true, content: json(ref('ClaimRequest')) },
      ok: { description: 'Claimed (or the earlier result for this claimId: `replayed: true`)', content: json(ref('Claim')) },
      errors: [...DATA, 409, 413, 415],
    },
    'get-claim': { ok: claimResponse, errors: [...DATA, 404] },
    'confirm-claim': { ok: claimResponse, errors: [...DATA, 404, 409] },
    'renew-claim': {
      requestBody: { required: false, content: json(schemaOf(RenewBodySchema.unwrap(), 'input')) },
      ok: claimResponse,
      errors: [...DATA, 404, 409, 413, 415],
    },
    'release-claim': { ok: claimResponse, errors: [...DATA, 404] },
    'get-gs': { ok: { description: 'The server', content: json(ref('GameServer')) }, errors: [...DATA, 404] },
    'get-available-lb': {
      query: [queryParam('region', schemaOf(RegionSchema), 'Region'), queryParam('limit', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, 'Maximum')],
      ok: { description: 'Load balancers', content: json({ type: 'object', properties: { loadBalancers: { type: 'array', items: ref('LoadBalancer') } } }) },
      errors: DATA,
    },
    inventory: { ok: { description: 'Counts', content: json(ref('Inventory')) }, errors: DATA },
    openapi: { ok: { description: 'OpenAPI 3.1' }, errors: [401] },
  };
}

/** `/claims/{claimId}/confirm` -> ['claimId']. */
const pathParameterNames = (path: string) => [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);

/**
 * The `paths` object: one operation per HTTP route of the registry (infra/functions.cjs), in its
 * order. Throws if a route has no details here, or details name a route the registry lacks.
 */
function buildPaths(): Record<string, Record<string, JsonSchema>> {
  const details = operationDetails();
  const parameters = pathParameters();
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const described = new Set<string>();
  for (const definition of catalogue) {
    const route = definition.http;
    if (!route) continue;
    const operation = details[definition.name];
    if (!operation) throw new Error(`lib/openapi.ts: no OpenAPI details for route ${definition.name}`);
    described.add(definition.name);
    const routeParameters = [
      ...pathParameterNames(route.path).map((name) => {
        const parameter = parameters[name];
        if (!parameter) throw new Error(`lib/openapi.ts: no description of path parameter ${name} (${definition.name})`);
        return parameter;
      }),
      ...(operation.query ?? []),
    ];
    (paths[route.path] ??= {})[route.method.toLowerCase()] = {
      summary: route.summary,
      ...(route.public ? { security: [] } : {}),
      ...(routeParameters.length ? { parameters: routeParameters } : {}),
      ...(operation.requestBody ? { requestBody: operation.requestBody } : {}),
      responses: { 200: operation.ok, ...errors(...operation.errors) },
    };
  }
  const stale = Object.keys(details).filter((name) => !described.has(name));
  if (stale.length) throw new Error(`lib/openapi.ts: OpenAPI details for routes the registry lacks: ${stale.join(', ')}`);
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
