import { createDeps, type Deps } from '../lib/deps';
import { httpHandler } from '../lib/http';
import { buildOpenApiDocument } from '../lib/openapi';
import { routeRoles } from './roles';

/** GET /openapi.json */
export function makeHandler(deps: Deps) {
  const document = buildOpenApiDocument();
  return httpHandler(deps, { roles: routeRoles('openapi') }, async () => ({ statusCode: 200, body: document }));
}

export const handler = makeHandler(createDeps());
