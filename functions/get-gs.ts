import { createDeps, type Deps } from '../lib/deps';
import { DomainError, ErrorCodes } from '../lib/errors';
import { getGameServer } from '../lib/game-servers/records';
import { toGameServer } from '../lib/game-servers/view';
import { httpHandler } from '../lib/http';
import { routeSpec } from '../lib/http/routes';
import { actorOf } from './actor';

/** GET /gs/{endpoint} */
export function makeHandler(deps: Deps) {
  return httpHandler(deps, routeSpec('get-gs'), async ({ params, caller }) => {
    const item = await getGameServer(deps, params.endpoint);
    if (!item) throw new DomainError(ErrorCodes.gsNotFound, `Game server ${params.endpoint} not found`);
    return { statusCode: 200, body: toGameServer(item, deps.clock(), actorOf(caller)) };
  });
}

export const handler = makeHandler(createDeps());
