import type { z } from 'zod';
import catalogue, { httpRoute } from '../../infra/functions.cjs';
import type { Role } from '../auth';
import type { RequestSchemas } from './middlewares/validate-request';
import {
  ClaimIdParamsSchema,
  ClaimRequestSchema,
  ClaimResultSchema,
  ClaimSchema,
  DashboardAssetParamsSchema,
  EndpointParamsSchema,
  FleetQuerySchema,
  FleetSchema,
  GameServerSchema,
  HealthSchema,
  InventorySchema,
  ListQuerySchema,
  LoadBalancerListSchema,
  LoadBalancerQuerySchema,
  RecentEventsQuerySchema,
  RecentEventsSchema,
  RenewBodySchema,
  ReplaceResultSchema,
  ReplaceServerBodySchema,
  ServerListSchema,
  SetAvailableBodySchema,
  SetAvailableResultSchema,
  SetBusyBodySchema,
  SetBusyResultSchema,
} from '../../schemas/http';

/** A route's request schemas (validateRequest's) and its 200 answer's. */
export interface RouteSchemas extends RequestSchemas {
  /** The 200 answer's body; none for a document served as is (openapi, asyncapi, the dashboard's page and assets). */
  response?: z.ZodType;
}

/**
 * The typed half of the route registry: the request and response schemas of every HTTP route of
 * infra/functions.cjs (method, path, roles, summary, tables: the half serverless.yml reads without
 * a TypeScript loader), by its name. The handlers validate with these, and the OpenAPI document is
 * generated from them; a unit test holds both halves to the same route names.
 */
export const ROUTE_SCHEMAS = {
  health: { response: HealthSchema },
  'get-available-gs': { query: ListQuerySchema, response: ServerListSchema },
  'set-gs-busy': { params: EndpointParamsSchema, body: SetBusyBodySchema, response: SetBusyResultSchema },
  'set-gs-available': { params: EndpointParamsSchema, body: SetAvailableBodySchema, response: SetAvailableResultSchema },
  'claim-gs': { body: ClaimRequestSchema, response: ClaimResultSchema },
  'get-claim': { params: ClaimIdParamsSchema, response: ClaimSchema },
  'confirm-claim': { params: ClaimIdParamsSchema, response: ClaimSchema },
  'renew-claim': { params: ClaimIdParamsSchema, body: RenewBodySchema, response: ClaimSchema },
  'release-claim': { params: ClaimIdParamsSchema, response: ClaimSchema },
  'replace-claim-server': { params: ClaimIdParamsSchema, body: ReplaceServerBodySchema, response: ReplaceResultSchema },
  'get-gs': { params: EndpointParamsSchema, response: GameServerSchema },
  'get-available-lb': { query: LoadBalancerQuerySchema, response: LoadBalancerListSchema },
  inventory: { response: InventorySchema },
  fleet: { query: FleetQuerySchema, response: FleetSchema },
  'recent-events': { query: RecentEventsQuerySchema, response: RecentEventsSchema },
  dashboard: {},
  'dashboard-asset': { params: DashboardAssetParamsSchema },
  asyncapi: {},
  openapi: {},
} as const satisfies Record<string, RouteSchemas>;

export type RouteName = keyof typeof ROUTE_SCHEMAS;

/** The names of the registry's HTTP routes, in its order. */
export const HTTP_ROUTE_NAMES: string[] = catalogue.flatMap((definition) => (definition.http ? [definition.name] : []));

/** Who may call route `name`: its roles, or `public`. */
export function routeRoles(name: RouteName): readonly Role[] | 'public' {
  const route = httpRoute(name);
  return route.public ? 'public' : route.roles;
}

/** What httpHandler needs of route `name`: who may call it and its request schemas. */
export function routeSpec<N extends RouteName>(name: N) {
  const { response: _response, ...request } = ROUTE_SCHEMAS[name] as (typeof ROUTE_SCHEMAS)[N] & { response?: unknown };
  return { roles: routeRoles(name), ...(request as Omit<(typeof ROUTE_SCHEMAS)[N], 'response'>) };
}
