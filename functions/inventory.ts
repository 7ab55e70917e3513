import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { createDeps, type Deps } from '../lib/deps';
import { createInventoryReader, type Inventory } from '../lib/game-servers/inventory';
import { httpHandler } from '../lib/http';
import { routeSpec } from '../lib/http/routes';

/** Available servers per region as CloudWatch metrics (EMF), for dashboards and scaling alarms. */
function publishAvailability(deps: Deps, inventory: Inventory): void {
  for (const [region, counts] of Object.entries(inventory.byRegion)) {
    const metric = deps.metrics.singleMetric();
    metric.addDimension('region', region);
    metric.addMetric('AvailableServers', MetricUnit.Count, counts.available ?? 0);
  }
}

/** GET /inventory: counts by status and region, at most 10 s old; each fresh count is published as metrics. */
export function makeHandler(deps: Deps) {
  const readInventory = createInventoryReader(deps, { onFresh: (inventory) => publishAvailability(deps, inventory) });
  return httpHandler(deps, routeSpec('inventory'), async () => ({ statusCode: 200, body: await readInventory() }));
}

export const handler = makeHandler(createDeps());
