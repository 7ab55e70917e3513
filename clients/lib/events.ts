import {
  GameServerEventV1Schema,
  LoadBalancerEventV1Schema,
  NodeEventV1Schema,
  type GameServerEventV1,
  type LifecycleEventName,
  type LoadBalancerEventV1,
  type NodeDrainReason,
  type NodeEventName,
  type NodeEventV1,
} from '../../schemas/messages';

/** Who a game server is: every event carries all of it (the newest event's description wins). */
export interface GameServerIdentity {
  /** `ip:port` the load balancers send to (the record's key). */
  endpoint: string;
  publicEndpoint?: string;
  region: string;
  node: string;
  group?: string;
  labels?: Record<string, string>;
  /** Identifies this run of the server; see generationUid. */
  podUid: string;
  instanceId?: string;
  lifecycle?: 'spot' | 'on-demand';
  capacity?: number;
}

export interface LoadBalancerIdentity {
  endpoint: string;
  publicEndpoint?: string;
  region: string;
  node: string;
  podUid: string;
  instanceId?: string;
  labels?: Record<string, string>;
}

export interface NodeIdentity {
  node: string;
  instanceId?: string;
  region?: string;
  /** The watcher pod (informational). */
  watcher?: string;
}

/**
 * Numbers a sender's events: seq 1, 2, 3, ... and a send time that never goes backwards (a wall
 * clock step back would otherwise reorder a node's events, which are ordered by time).
 */
export class EventSequence {
  private seq = 0;
  private lastSentAt = 0;
  constructor(private readonly clock: () => number = Date.now) {}

  next(): { seq: number; sentAt: number } {
    this.seq += 1;
    this.lastSentAt = Math.max(this.clock(), this.lastSentAt);
    return { seq: this.seq, sentAt: this.lastSentAt };
  }
}

/**
 * The pod uid a run of a game server reports under: the Kubernetes pod UID plus the start time of
 * this run. A container restarted in the same pod is a new game server (its matches are gone), so
 * it must neither inherit the old run's claim nor be refused as "older events of a terminated
 * pod"; as a newer pod generation (by sentAt) it replaces the old record.
 */
export function generationUid(podUid: string, startedAt: number): string {
  return `${podUid.slice(0, 100)}.${startedAt.toString(36)}`;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A v1 game-server event, validated against the schema the poller uses (throws ZodError). */
export function gameServerMessage(
  identity: GameServerIdentity,
  event: LifecycleEventName,
  order: { seq: number; sentAt: number },
  players?: number,
): GameServerEventV1 {
  return GameServerEventV1Schema.parse({
    v: 1,
    kind: 'game-server',
    event,
    ...identity,
    seq: order.seq,
    sentAt: iso(order.sentAt),
    ...(players !== undefined ? { players } : {}),
  });
}

export function loadBalancerMessage(
  identity: LoadBalancerIdentity,
  event: LifecycleEventName,
  order: { seq: number; sentAt: number },
  targets: string[],
): LoadBalancerEventV1 {
  return LoadBalancerEventV1Schema.parse({
    v: 1,
    kind: 'load-balancer',
    event,
    ...identity,
    seq: order.seq,
    sentAt: iso(order.sentAt),
    targets,
  });
}

export function nodeMessage(
  identity: NodeIdentity,
  event: NodeEventName,
  order: { seq: number; sentAt: number },
  reason?: NodeDrainReason,
): NodeEventV1 {
  return NodeEventV1Schema.parse({
    v: 1,
    kind: 'node',
    event,
    ...identity,
    ...(reason !== undefined ? { reason } : {}),
    seq: order.seq,
    sentAt: iso(order.sentAt),
  });
}
