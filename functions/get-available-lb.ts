import { createDeps, type Deps } from '../lib/deps';
import { toLoadBalancer } from '../lib/load-balancers/view';
import { httpHandler } from '../lib/http';
import { routeSpec } from '../lib/http/routes';
import { queryActiveLoadBalancers } from '../lib/load-balancers/repo';

/** GET /get-available-lb?region=&limit= : active, heartbeating load balancers. */
export function makeHandler(deps: Deps) {
  return httpHandler(deps, routeSpec('get-available-lb'), async ({ query }) => {
    const items = await queryActiveLoadBalancers(deps, { ...query, now: deps.clock() });
    return { statusCode: 200, body: { loadBalancers: items.map(toLoadBalancer) } };
  });
}

export const handler = makeHandler(createDeps());
