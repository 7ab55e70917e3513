import type { LoadBalancerItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { lifecycleSettings } from '../game-servers/lifecycle';
import { decideLoadBalancerWrite } from '../load-balancers/lifecycle';
import { getLoadBalancer, putLoadBalancerIfVersion } from '../load-balancers/repo';
import type { LoadBalancerLifecycleEvent } from '../pods/events';
import type { ApplyOutcome } from './apply-lifecycle-event';
import { writeOptimistically } from './optimistic-write';

/**
 * Applies one load-balancer lifecycle event with the optimistic-write loop: read the record,
 * decide (decideLoadBalancerWrite), write it only if the record is unchanged since the read.
 * Durable when this resolves. Throws ContentionError after MAX_ATTEMPTS lost races.
 */
export async function applyLoadBalancerEvent(deps: Deps, event: LoadBalancerLifecycleEvent): Promise<ApplyOutcome> {
  const settings = lifecycleSettings(deps.config);
  return writeOptimistically<LoadBalancerItem | undefined, ApplyOutcome>({
    subject: `${event.kind} ${event.endpoint}`,
    read: () => getLoadBalancer(deps, event.endpoint),
    decide: (stored, attempt) => {
      const decision = decideLoadBalancerWrite(stored, event, deps.clock(), settings);
      if (decision.kind === 'ignore') return { kind: 'done', result: { outcome: 'ignored', reason: decision.reason, attempts: attempt } };
      return {
        kind: 'put',
        put: () => putLoadBalancerIfVersion(deps, decision.item, stored?.version),
        written: () => ({ outcome: 'applied', status: decision.item.status, attempts: attempt }),
      };
    },
  });
}
