import { releaseClaim } from '../lib/claims/settle';
import { toClaim } from '../lib/claims/view';
import { createDeps, type Deps } from '../lib/deps';
import { httpHandler } from '../lib/http';
import { routeSpec } from '../lib/http/routes';
import { actorOf } from './actor';

/** POST /claims/{claimId}/release: the servers this claim still holds return to the pool. */
export function makeHandler(deps: Deps) {
  return httpHandler(deps, routeSpec('release-claim'), async ({ params, caller }) => {
    const actor = actorOf(caller);
    const { claim, servers, released } = await releaseClaim(deps, params.claimId, actor);
    return { statusCode: 200, body: { ...toClaim(claim, servers, deps.clock(), actor), released }, audit: { released } };
  });
}

export const handler = makeHandler(createDeps());
