import { z } from 'zod';
import {
  EndpointSchema,
  GroupSchema,
  LabelsSchema,
  NodeNameSchema,
  RegionSchema,
} from './primitives';

/** Lifecycle events a pod reports. `terminating` and `terminated` both end the pod. */
export const LifecycleEventNameSchema = z.enum(['ready', 'heartbeat', 'draining', 'terminating', 'terminated']);
export type LifecycleEventName = z.infer<typeof LifecycleEventNameSchema>;

const podFields = {
  v: z.literal(1),
  event: LifecycleEventNameSchema,
  endpoint: EndpointSchema,
  publicEndpoint: EndpointSchema.optional(),
  region: RegionSchema,
  node: NodeNameSchema,
  instanceId: z.string().min(1).max(128).optional(),
  lifecycle: z.enum(['spot', 'on-demand']).optional(),
  podUid: z.string().min(1).max(128),
  /** Monotonic per pod: orders the events of one pod. */
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  /** When the pod sent the event; orders events of different pods that reuse an endpoint. */
  sentAt: z.iso.datetime({ offset: true }),
  labels: LabelsSchema.optional(),
};

export const GameServerEventV1Schema = z.object({
  ...podFields,
  kind: z.literal('game-server'),
  group: GroupSchema.optional(),
  capacity: z.number().int().nonnegative().max(100_000).optional(),
  players: z.number().int().nonnegative().max(100_000).optional(),
});
export type GameServerEventV1 = z.infer<typeof GameServerEventV1Schema>;

export const LoadBalancerEventV1Schema = z.object({
  ...podFields,
  kind: z.literal('load-balancer'),
  targets: z.array(EndpointSchema).max(100).optional(),
});
export type LoadBalancerEventV1 = z.infer<typeof LoadBalancerEventV1Schema>;

/** What a node-drain watcher reports about a whole node (instance): `draining` on a Spot
 * interruption notice or rebalance recommendation, `ready` when the node is (again) usable. */
export const NodeEventNameSchema = z.enum(['ready', 'draining']);
export type NodeEventName = z.infer<typeof NodeEventNameSchema>;

export const NodeDrainReasonSchema = z.enum(['spot-interruption', 'rebalance-recommendation', 'manual']);
export type NodeDrainReason = z.infer<typeof NodeDrainReasonSchema>;

/**
 * `{"v":1,"kind":"node","event":"draining","node":"ip-10-0-0-12.ec2.internal","sentAt":"..."}`.
 * A node's events are ordered by (sentAt, seq): the latest one is the node's state, whichever
 * order they arrive in.
 */
export const NodeEventV1Schema = z.object({
  v: z.literal(1),
  kind: z.literal('node'),
  event: NodeEventNameSchema,
  node: NodeNameSchema,
  instanceId: z.string().min(1).max(128).optional(),
  region: RegionSchema.optional(),
  reason: NodeDrainReasonSchema.optional(),
  /** The watcher (DaemonSet pod) that sent it; informational. */
  watcher: z.string().min(1).max(128).optional(),
  /** When the watcher sent it: orders the events of one node. */
  sentAt: z.iso.datetime({ offset: true }),
  /** Breaks ties between events sent in the same millisecond; monotonic per watcher. */
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0),
});
export type NodeEventV1 = z.infer<typeof NodeEventV1Schema>;

export const StatusMessageV1Schema = z.discriminatedUnion('kind', [
  GameServerEventV1Schema,
  LoadBalancerEventV1Schema,
  NodeEventV1Schema,
]);
export type StatusMessageV1 = z.infer<typeof StatusMessageV1Schema>;

/**
 * The message the replaced sample's pods send (all values strings). Game servers send JSON; load
 * balancers send a Python literal with `endpoints` (see lib/messages/python-literal.ts).
 */
export const LegacyStatusMessageSchema = z.object({
  public_hostname: z.string().min(1).max(253),
  public_port: z.string().regex(/^[1-9]\d{0,4}$/, 'must be a port number'),
  region: RegionSchema,
  status: z.enum(['init', 'terminating']),
  type: z.enum(['gs', 'lb']),
  private_ipv4: z.string().max(64),
  group: GroupSchema.optional(),
  endpoints: z.array(z.string()).max(100).optional(),
});
export type LegacyStatusMessage = z.infer<typeof LegacyStatusMessageSchema>;
