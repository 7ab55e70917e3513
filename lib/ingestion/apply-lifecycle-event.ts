import type { Deps } from '../deps';
import type { LifecycleEvent } from '../pods/events';
import { applyGameServerEvent, type NodeRecords } from './apply-game-server';
import { applyLoadBalancerEvent } from './apply-load-balancer';

export type ApplyOutcome =
  | { outcome: 'applied'; status: string; attempts: number }
  | { outcome: 'ignored'; reason: string; attempts: number };

/**
 * Applies one pod lifecycle event to its endpoint's record (see applyGameServerEvent and
 * applyLoadBalancerEvent). `nodes`: node records already read, for game servers. Durable when this
 * resolves; throws ContentionError after too many lost races.
 */
export function applyLifecycleEvent(deps: Deps, event: LifecycleEvent, nodes?: NodeRecords): Promise<ApplyOutcome> {
  return event.kind === 'game-server' ? applyGameServerEvent(deps, event, nodes) : applyLoadBalancerEvent(deps, event);
}
