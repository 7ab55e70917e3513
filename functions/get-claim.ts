import { getClaimWithServers } from '../lib/claims/settle';
import { toClaim } from '../lib/claims/view';
import { createDeps, type Deps } from '../lib/deps';
import { httpHandler } from '../lib/http';
import { ClaimIdParamsSchema } from '../schemas/http';
import { actorOf, routeRoles } from './roles';

/** GET /claims/{claimId} */
export function makeHandler(deps: Deps) {
  return httpHandler(deps, { roles: routeRoles('get-claim'), params: ClaimIdParamsSchema }, async ({ params, caller }) => {
    const actor = actorOf(caller);
    const { claim, servers } = await getClaimWithServers(deps, params.claimId, actor);
    return { statusCode: 200, body: toClaim(claim, servers, deps.clock(), actor) };
  });
}

export const handler = makeHandler(createDeps());
