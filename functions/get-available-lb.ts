import { createDeps, type Deps } from '../lib/deps';
import { toLoadBalancer } from '../lib/load-balancers/view';
import { httpHandler } from '../lib/http';
import { queryActiveLoadBalancers } from '../lib/load-balancers/repo';
import { LoadBalancerQuerySchema } from '../schemas/http';
import { routeRoles } from './roles';

/** GET /get-available-lb?region=&limit= : active, heartbeating load balancers. */
export function makeHandler(deps: Deps) {
  return httpHandler(deps, { roles: routeRoles('get-available-lb'), query: LoadBalancerQuerySchema }, async ({ query }) => {
    const items = await queryActiveLoadBalancers(deps, { ...query, now: deps.clock() });
    return { statusCode: 200, body: { loadBalancers: items.map(toLoadBalancer) } };
  });
}

export const handler = makeHandler(createDeps());
