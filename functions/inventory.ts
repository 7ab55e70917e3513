import { createDeps, type Deps } from '../lib/deps';
import { createInventoryReader } from '../lib/game-servers/inventory';
import { httpHandler } from '../lib/http';
import { EmptyQuerySchema } from '../schemas/http';
import { routeRoles } from './roles';

/** GET /inventory: counts by status and region, at most 10 s old. */
export function makeHandler(deps: Deps) {
  const readInventory = createInventoryReader(deps);
  return httpHandler(deps, { roles: routeRoles('inventory'), query: EmptyQuerySchema }, async () => ({ statusCode: 200, body: await readInventory() }));
}

export const handler = makeHandler(createDeps());
