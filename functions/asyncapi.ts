import { createDeps, type Deps } from '../lib/deps';
import { httpHandler } from '../lib/http';
import { routeSpec } from '../lib/http/routes';
import { buildAsyncApiDocument } from '../lib/notifications/asyncapi';

/** GET /events/asyncapi.json: the notifications' AsyncAPI 3.0 document. */
export function makeHandler(deps: Deps) {
  const document = buildAsyncApiDocument();
  return httpHandler(deps, routeSpec('asyncapi'), async () => ({ statusCode: 200, body: document }));
}

export const handler = makeHandler(createDeps());
