import { getClaimWithServers } from '../lib/claims/settle';
import { toClaim } from '../lib/claims/view';
import { createDeps, type Deps } from '../lib/deps';
import { httpHandler } from '../lib/http';
import { routeSpec } from '../lib/http/routes';
import { actorOf } from './actor';

/** GET /claims/{claimId} */
export function makeHandler(deps: Deps) {
  return httpHandler(deps, routeSpec('get-claim'), async ({ params, caller }) => {
    const actor = actorOf(caller);
    const { claim, servers } = await getClaimWithServers(deps, params.claimId, actor);
    return { statusCode: 200, body: toClaim(claim, servers, deps.clock(), actor) };
  });
}

export const handler = makeHandler(createDeps());
