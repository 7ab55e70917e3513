import { createDeps, type Deps } from '../lib/deps';
import { createFleetReader, toFleetServer } from '../lib/game-servers/fleet';
import { httpHandler } from '../lib/http';
import { routeSpec } from '../lib/http/routes';
import { actorOf } from './actor';

/** GET /fleet: every server (of a region, a group) as the dashboard shows it to this caller. */
export function makeHandler(deps: Deps) {
  const readFleet = createFleetReader(deps);
  return httpHandler(deps, routeSpec('fleet'), async ({ query, caller }) => {
    const { at, records } = await readFleet(query);
    const now = deps.clock();
    const viewer = actorOf(caller);
    return {
      statusCode: 200,
      body: { generatedAt: new Date(at).toISOString(), servers: records.map((record) => toFleetServer(record, now, viewer)) },
    };
  });
}

export const handler = makeHandler(createDeps());
