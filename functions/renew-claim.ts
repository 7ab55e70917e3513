import { renewClaim } from '../lib/claims/settle';
import { toClaim } from '../lib/claims/view';
import { createDeps, type Deps } from '../lib/deps';
import { httpHandler } from '../lib/http';
import { routeSpec } from '../lib/http/routes';
import { actorOf } from './actor';

/** POST /claims/{claimId}/renew {seconds?}: the lease (leased) or hold (confirmed) moves to now + seconds. */
export function makeHandler(deps: Deps) {
  return httpHandler(deps, routeSpec('renew-claim'), async ({ params, body, caller }) => {
    const actor = actorOf(caller);
    const { claim, servers } = await renewClaim(deps, params.claimId, actor, body?.seconds);
    return { statusCode: 200, body: toClaim(claim, servers, deps.clock(), actor) };
  });
}

export const handler = makeHandler(createDeps());
