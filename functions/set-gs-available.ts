import { releaseBusyServer } from '../lib/claims/claim';
import { createDeps, type Deps } from '../lib/deps';
import { toGameServer } from '../lib/game-servers/view';
import { httpHandler } from '../lib/http';
import { routeSpec } from '../lib/http/routes';
import { actorOf } from './actor';

/**
 * POST /set-gs-available/{endpoint} {claimId}: the counterpart of set-gs-busy. The server returns
 * to the pool if that claim still holds it; otherwise nothing changes (`released: false`).
 */
export function makeHandler(deps: Deps) {
  return httpHandler(deps, routeSpec('set-gs-available'), async ({ params, body, caller }) => {
    const actor = actorOf(caller);
    const result = await releaseBusyServer(deps, params.endpoint, body.claimId, actor);
    return {
      statusCode: 200,
      body: { released: result.released, server: toGameServer(result.server, deps.clock(), actor) },
      audit: { released: result.released },
    };
  });
}

export const handler = makeHandler(createDeps());
