import type { LifecycleEventName, NodeDrainReason, NodeEventName } from '../../schemas/messages';

/**
 * The lifecycle events the entities decide on, in the form every message is normalized to
 * (lib/messages/normalize.ts): a pod's report about itself (game server or load balancer) and a
 * node-drain watcher's report about a whole node.
 */

interface PodEventFields {
  event: LifecycleEventName;
  endpoint: string;
  publicEndpoint?: string;
  region: string;
  node: string;
  instanceId?: string;
  lifecycle?: 'spot' | 'on-demand';
  labels?: Record<string, string>;
  podUid: string;
  seq: number;
  /** Epoch milliseconds. */
  sentAt: number;
  /** `legacy` pods never heartbeat, so freshness does not apply to them. */
  source: 'v1' | 'legacy';
}

export interface GameServerLifecycleEvent extends PodEventFields {
  kind: 'game-server';
  group?: string;
  capacity?: number;
  players?: number;
}

export interface LoadBalancerLifecycleEvent extends PodEventFields {
  kind: 'load-balancer';
  targets?: string[];
}

export type LifecycleEvent = GameServerLifecycleEvent | LoadBalancerLifecycleEvent;

/** A node-drain watcher's report about a whole node. */
export interface NodeEvent {
  kind: 'node';
  event: NodeEventName;
  node: string;
  instanceId?: string;
  region?: string;
  reason?: NodeDrainReason;
  watcher?: string;
  /** Epoch milliseconds. */
  sentAt: number;
  seq: number;
}
