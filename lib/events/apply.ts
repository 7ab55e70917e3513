import type { Deps } from '../deps';
import { getGameServer, putGameServerIfVersion } from '../game-servers/repo';
import { decideGameServerWrite } from '../game-servers/lifecycle';
import { getLoadBalancer, putLoadBalancerIfVersion } from '../load-balancers/repo';
import { decideLoadBalancerWrite } from '../load-balancers/lifecycle';
import type { LifecycleEvent } from './normalize';

export type ApplyOutcome =
  | { outcome: 'applied'; status: string; attempts: number }
  | { outcome: 'ignored'; reason: string; attempts: number };

/** Optimistic-lock retries before the event is handed back to the queue for a later attempt. */
const MAX_ATTEMPTS = 8;

export class ContentionError extends Error {
  override name = 'ContentionError';
}

/**
 * Applies one lifecycle event: read the endpoint's record, decide (pure), write it only if the
 * record is unchanged since the read. A concurrent writer (another event, a claim) makes the write
 * fail its condition; the event is then decided again against the new record. The result is
 * durable when this resolves. Throws ContentionError after MAX_ATTEMPTS lost races.
 */
export async function applyLifecycleEvent(deps: Deps, event: LifecycleEvent): Promise<ApplyOutcome> {
  const { config } = deps;
  const settings = {
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    retentionMs: config.retentionMs,
    availabilityShards: config.availabilityShards,
  };
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    if (event.kind === 'game-server') {
      const stored = await getGameServer(deps, event.endpoint);
      const decision = decideGameServerWrite(stored, event, deps.clock(), settings);
      if (decision.kind === 'ignore') return { outcome: 'ignored', reason: decision.reason, attempts: attempt };
      if ((await putGameServerIfVersion(deps, decision.item, stored?.version)) === 'written') {
        return { outcome: 'applied', status: decision.item.status, attempts: attempt };
      }
    } else {
      const stored = await getLoadBalancer(deps, event.endpoint);
      const decision = decideLoadBalancerWrite(stored, event, deps.clock(), settings);
      if (decision.kind === 'ignore') return { outcome: 'ignored', reason: decision.reason, attempts: attempt };
      if ((await putLoadBalancerIfVersion(deps, decision.item, stored?.version)) === 'written') {
        return { outcome: 'applied', status: decision.item.status, attempts: attempt };
      }
    }
  }
  throw new ContentionError(`gave up on ${event.kind} ${event.endpoint} after ${MAX_ATTEMPTS} conflicting writes`);
}
