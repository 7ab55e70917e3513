import type { LoadBalancer } from '../../schemas/http';
import type { LoadBalancerItem } from '../../schemas/items';

/** A stored load-balancer record as GET /get-available-lb returns it. */
export function toLoadBalancer(item: LoadBalancerItem): LoadBalancer {
  return {
    endpoint: item.endpoint,
    ...(item.publicEndpoint !== undefined ? { publicEndpoint: item.publicEndpoint } : {}),
    region: item.region,
    node: item.node,
    status: item.status,
    targets: item.targets,
    lastHeartbeatAt: new Date(item.lastHeartbeatAt).toISOString(),
  };
}
