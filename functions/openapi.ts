import { createDeps, type Deps } from '../lib/deps';
import { httpHandler } from '../lib/http';
import { routeSpec } from '../lib/http/routes';
import { buildOpenApiDocument } from '../lib/http/openapi';

/** GET /openapi.json */
export function makeHandler(deps: Deps) {
  const document = buildOpenApiDocument();
  return httpHandler(deps, routeSpec('openapi'), async () => ({ statusCode: 200, body: document }));
}

export const handler = makeHandler(createDeps());
