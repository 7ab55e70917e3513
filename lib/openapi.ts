import { z } from 'zod';
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

/**
 * The OpenAPI 3.1 description of the HTTP API, generated from the same zod schemas the handlers
 * validate with (JSON Schema 2020-12, which OpenAPI 3.1 uses as is).
 */
export function buildOpenApiDocument(serverUrl?: string): Record<string, unknown> {
  const endpointParam = pathParam('endpoint', EndpointSchema, 'Game server `ip:port`, URL-encoded (`10.0.0.1%3A7777`) or literal');
  const claimIdParam = pathParam('claimId', ClaimIdSchema, 'The claim id chosen by the claimer');
  const claimResponse = { description: 'The claim and its servers', content: json(ref('Claim')) };
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
    paths: {
      '/health': {
        get: { summary: 'Liveness', security: [], responses: { 200: { description: 'ok', content: json({ type: 'object', properties: { status: { const: 'ok' } } }) } } },
      },
      '/get-available-gs': {
        get: {
          summary: 'List available game servers (fresh, not draining, unclaimed or lease expired)',
          parameters: [
            queryParam('region', schemaOf(RegionSchema), 'Region'),
            queryParam('group', schemaOf(GroupSchema), 'Server group'),
            queryParam('limit', { type: 'integer', minimum: 1, maximum: 100, default: 10 }, 'Maximum servers'),
            queryParam('distinctNodes', { type: 'boolean', default: false }, 'At most one server per node'),
            { name: 'label.{key}', in: 'query', required: false, description: 'Label filter: `label.map=dust`', schema: { type: 'string' } },
          ],
          responses: { 200: { description: 'Servers', content: json({ type: 'object', properties: { servers: { type: 'array', items: ref('GameServer') } }, required: ['servers'] }) }, ...errors(...DATA) },
        },
      },
      '/set-gs-busy/{endpoint}': {
        post: {
          summary: 'Claim one named server straight to busy until its hold runs out (atomic; the same claimId again renews the hold)',
          parameters: [endpointParam],
          requestBody: { required: false, content: json(schemaOf(SetBusyBodySchema.unwrap(), 'input')) },
          responses: {
            200: {
              description: 'Busy',
              content: json({ type: 'object', properties: { server: ref('GameServer'), claimId: { type: 'string' }, holdExpiresAt: { type: 'string', format: 'date-time' } }, required: ['server', 'claimId', 'holdExpiresAt'] }),
            },
            ...errors(...DATA, 404, 409, 413, 415),
          },
        },
      },
      '/set-gs-available/{endpoint}': {
        post: {
          summary: 'Return a server set busy under a claimId to the pool (no change, `released: false`, if that claim does not hold it for this caller)',
          parameters: [endpointParam],
          requestBody: { required: true, content: json({ type: 'object', properties: { claimId: schemaOf(ClaimIdSchema) }, required: ['claimId'], additionalProperties: false }) },
          responses: {
            200: { description: 'Released or not held', content: json({ type: 'object', properties: { released: { type: 'boolean' }, server: ref('GameServer') }, required: ['released', 'server'] }) },
            ...errors(...DATA, 404, 413, 415),
          },
        },
      },
      '/claim-gs': {
        post: {
          summary: 'Find and claim `count` servers, all or nothing, under a lease; idempotent per claimId',
          requestBody: { required: true, content: json(ref('ClaimRequest')) },
          responses: {
            200: { description: 'Claimed (or the earlier result for this claimId: `replayed: true`)', content: json(ref('Claim')) },
            ...errors(...DATA, 409, 413, 415),
          },
        },
      },
      '/claims/{claimId}': { get: { summary: 'A claim and its servers', parameters: [claimIdParam], responses: { 200: claimResponse, ...errors(...DATA, 404) } } },
      '/claims/{claimId}/confirm': {
        post: {
          summary: 'Confirm a leased claim: its servers become busy, held for the claim\'s holdSeconds (claim and servers in one transaction)',
          parameters: [claimIdParam],
          responses: { 200: claimResponse, ...errors(...DATA, 404, 409) },
        },
      },
      '/claims/{claimId}/renew': {
        post: {
          summary: 'Keep a claim alive: a leased claim\'s lease or a confirmed claim\'s hold moves to now + seconds (default: the claim\'s own)',
          parameters: [claimIdParam],
          requestBody: { required: false, content: json(schemaOf(RenewBodySchema.unwrap(), 'input')) },
          responses: { 200: claimResponse, ...errors(...DATA, 404, 409, 413, 415) },
        },
      },
      '/claims/{claimId}/release': {
        post: {
          summary: 'Release a claim: servers it still holds return to the pool (claim and servers in one transaction); replays answer the same',
          parameters: [claimIdParam],
          responses: { 200: claimResponse, ...errors(...DATA, 404) },
        },
      },
      '/gs/{endpoint}': { get: { summary: 'One game server', parameters: [endpointParam], responses: { 200: { description: 'The server', content: json(ref('GameServer')) }, ...errors(...DATA, 404) } } },
      '/get-available-lb': {
        get: {
          summary: 'Active load balancers',
          parameters: [queryParam('region', schemaOf(RegionSchema), 'Region'), queryParam('limit', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, 'Maximum')],
          responses: { 200: { description: 'Load balancers', content: json({ type: 'object', properties: { loadBalancers: { type: 'array', items: ref('LoadBalancer') } } }) }, ...errors(...DATA) },
        },
      },
      '/inventory': { get: { summary: 'Counts by status and region (at most 10 s old)', responses: { 200: { description: 'Counts', content: json(ref('Inventory')) }, ...errors(...DATA) } } },
      '/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1' }, ...errors(401) } } },
    },
  };
}
