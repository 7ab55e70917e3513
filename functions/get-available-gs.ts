import { createDeps, type Deps } from '../lib/deps';
import { listAvailableGameServers } from '../lib/game-servers/list';
import { toGameServer } from '../lib/game-servers/view';
import { httpHandler } from '../lib/http';
import { routeSpec } from '../lib/http/routes';
import { actorOf } from './actor';

/** GET /get-available-gs?region=&group=&limit=&distinctNodes=&label.<k>=<v> */
export function makeHandler(deps: Deps) {
  return httpHandler(deps, routeSpec('get-available-gs'), async ({ query, caller }) => {
    const now = deps.clock();
    const items = await listAvailableGameServers(deps, query, now);
    return { statusCode: 200, body: { servers: items.map((item) => toGameServer(item, now, actorOf(caller))) } };
  });
}

export const handler = makeHandler(createDeps());
