import { createDeps, type Deps } from '../lib/deps';
import { httpHandler } from '../lib/http';
import { routeSpec } from '../lib/http/routes';
import { feedEventFor, readRecentFeed } from '../lib/notifications/feed';
import { actorOf } from './actor';

/** GET /events/recent: the latest lifecycle notifications, claim ids only for their owners. */
export function makeHandler(deps: Deps) {
  return httpHandler(deps, routeSpec('recent-events'), async ({ query, caller }) => {
    const entries = await readRecentFeed(deps, { limit: query.limit, now: deps.clock() });
    const viewer = actorOf(caller);
    return { statusCode: 200, body: { events: entries.map((entry) => feedEventFor(entry, viewer)) } };
  });
}

export const handler = makeHandler(createDeps());
