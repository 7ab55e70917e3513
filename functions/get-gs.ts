import { createDeps, type Deps } from '../lib/deps';
import { DomainError, ErrorCodes } from '../lib/errors';
import { getGameServer } from '../lib/game-servers/records';
import { toGameServer } from '../lib/game-servers/view';
import { httpHandler } from '../lib/http';
import { EndpointParamsSchema } from '../schemas/http';
import { actorOf, routeRoles } from './roles';

/** GET /gs/{endpoint} */
export function makeHandler(deps: Deps) {
  return httpHandler(deps, { roles: routeRoles('get-gs'), params: EndpointParamsSchema }, async ({ params, caller }) => {
    const item = await getGameServer(deps, params.endpoint);
    if (!item) throw new DomainError(ErrorCodes.gsNotFound, `Game server ${params.endpoint} not found`);
    return { statusCode: 200, body: toGameServer(item, deps.clock(), actorOf(caller)) };
  });
}

export const handler = makeHandler(createDeps());
