import { z } from 'zod';
import { GameServerStatusSchema, LoadBalancerStatusSchema } from './items';
import { GameServerSchema, LoadBalancerSchema } from './http';
import { DrainReasonSchema } from './primitives';

// Lifecycle notifications: CloudEvents 1.0, JSON structured mode. One schema per event type; the
// AsyncAPI document (lib/notifications/asyncapi.ts, GET /events/asyncapi.json) is generated from
// these. A breaking change to a type's data gets a new version in its `dataschema`, published
// beside the old one.

export const EVENT_SCHEMA_VERSION = 'v1';

export { DrainReasonSchema, type DrainReason } from './primitives';

export const AvailableReasonSchema = z
  .enum(['registered', 'released', 'lease-expired', 'hold-expired', 'undrained'])
  .describe('registered: a new pod; released: its claim let it go; lease-expired / hold-expired: noticed at the first write after the deadline (a heartbeat); undrained: its node is back');

export const LostReasonSchema = z.enum(['draining', 'terminated', 'stale']);

/** What every game-server event carries. */
const serverData = {
  server: GameServerSchema.describe('The server as GET /gs/{endpoint} shows it to an admin, at the change'),
  /** The status before the change (null: the record is new). */
  previousStatus: GameServerStatusSchema.nullable(),
  /**
   * The record's version at the change: increases by one or more with every write of the server.
   * A subscriber keeps the highest it has seen per server and drops anything older.
   */
  sequence: z.number().int().positive(),
};
const claimRef = {
  claimId: z.string(),
  /** The principal the claim belongs to (absent on claims from before owners were recorded). */
  owner: z.string().optional(),
};

export const EVENT_DATA_SCHEMAS = {
  'gs.available': z.object({ ...serverData, reason: AvailableReasonSchema, claimId: z.string().optional().describe('released / lease-expired / hold-expired: the claim that let it go'), owner: z.string().optional() }),
  'gs.claimed': z.object({ ...serverData, ...claimRef, leaseExpiresAt: z.iso.datetime() }),
  'gs.busy': z.object({ ...serverData, ...claimRef, holdExpiresAt: z.iso.datetime() }),
  'gs.released': z.object({ ...serverData, ...claimRef }),
  'gs.draining': z.object({ ...serverData, reason: DrainReasonSchema, claimId: z.string().optional(), owner: z.string().optional() }),
  'gs.terminated': z.object({ ...serverData, claimId: z.string().optional(), owner: z.string().optional() }),
  'gs.stale': z.object({ ...serverData, lastHeartbeatAt: z.iso.datetime(), staleAt: z.iso.datetime(), claimId: z.string().optional(), owner: z.string().optional() }),
  'claim.lost': z.object({
    ...serverData,
    ...claimRef,
    /** The server the claim lost. */
    endpoint: z.string(),
    lost: LostReasonSchema,
  }),
  'lb.active': z.object({ loadBalancer: LoadBalancerSchema, previousStatus: LoadBalancerStatusSchema.nullable(), sequence: z.number().int().positive() }),
  'lb.targets': z.object({ loadBalancer: LoadBalancerSchema, previousStatus: LoadBalancerStatusSchema.nullable(), sequence: z.number().int().positive(), previousTargets: z.array(z.string()) }),
  'lb.draining': z.object({ loadBalancer: LoadBalancerSchema, previousStatus: LoadBalancerStatusSchema.nullable(), sequence: z.number().int().positive() }),
  'lb.terminated': z.object({ loadBalancer: LoadBalancerSchema, previousStatus: LoadBalancerStatusSchema.nullable(), sequence: z.number().int().positive() }),
} as const;

export type EventType = keyof typeof EVENT_DATA_SCHEMAS;
export const EVENT_TYPES = Object.keys(EVENT_DATA_SCHEMAS) as EventType[];
export type EventData<T extends EventType> = z.infer<(typeof EVENT_DATA_SCHEMAS)[T]>;

/** What each type means, for the AsyncAPI document and the README table. */
export const EVENT_DESCRIPTIONS: Record<EventType, string> = {
  'gs.available': 'A server joined the pool: registered, released, its lease or hold ran out, or its node was un-drained',
  'gs.claimed': 'A claim took the server under a lease',
  'gs.busy': 'The server is held busy (a confirmed claim, or set-gs-busy)',
  'gs.released': 'A claim let the server go',
  'gs.draining': 'The server is draining: its pod is shutting down or its node is drained',
  'gs.terminated': 'The server is gone',
  'gs.stale': 'A held server stopped heartbeating (found by the stale sweep)',
  'claim.lost': 'A server of a live claim drained, terminated or went stale: the claim holder must replace it',
  'lb.active': 'A load balancer registered (or a new pod took its endpoint)',
  'lb.targets': "A load balancer's upstreams changed",
  'lb.draining': 'A load balancer is draining',
  'lb.terminated': 'A load balancer is gone',
};

/** The CloudEvents 1.0 envelope (JSON structured mode) of a type. */
export function cloudEventSchema<T extends EventType>(type: T) {
  return z.object({
    specversion: z.literal('1.0'),
    /** The same on every redelivery of the same change: `<gs|lb>:<endpoint>:<sequence>:<type>`. */
    id: z.string(),
    source: z.string().describe('/gs-inventory/<stage>'),
    type: z.literal(type),
    /** The server's (load balancer's) endpoint. */
    subject: z.string(),
    time: z.iso.datetime(),
    datacontenttype: z.literal('application/json'),
    dataschema: z.string(),
    data: EVENT_DATA_SCHEMAS[type],
  });
}

export type NotificationEvent<T extends EventType = EventType> = {
  [K in T]: { specversion: '1.0'; id: string; source: string; type: K; subject: string; time: string; datacontenttype: 'application/json'; dataschema: string; data: EventData<K> };
}[T];

export const dataSchemaUri = (type: EventType) => `urn:gs-inventory:events:${type}:${EVENT_SCHEMA_VERSION}`;
