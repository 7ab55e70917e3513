import { getClaimWithServers } from '../lib/claims/settle';
import { toClaim } from '../lib/claims/view';
import { createDeps, type Deps } from '../lib/deps';
import { httpHandler } from '../lib/http';
import { ClaimIdParamsSchema } from '../schemas/http';
import { ANY_ROLE } from './roles';

/** GET /claims/{claimId} */
export function makeHandler(deps: Deps) {
  return httpHandler(deps, { roles: ANY_ROLE, params: ClaimIdParamsSchema }, async ({ params }) => {
    const { claim, servers } = await getClaimWithServers(deps, params.claimId);
    return { statusCode: 200, body: toClaim(claim, servers, deps.clock()) };
  });
}

export const handler = makeHandler(createDeps());
