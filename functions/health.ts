import { createDeps, type Deps } from '../lib/deps';
import { httpHandler } from '../lib/http';
import { routeSpec } from '../lib/http/routes';

/** GET /health: the API answers. Public, touches nothing. */
export function makeHandler(deps: Deps) {
  return httpHandler(deps, routeSpec('health'), async () => ({ statusCode: 200, body: { status: 'ok' } }));
}

export const handler = makeHandler(createDeps());
