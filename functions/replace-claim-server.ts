import { replaceClaimServer } from '../lib/claims/replace';
import { toClaim } from '../lib/claims/view';
import { createDeps, type Deps } from '../lib/deps';
import { DomainError, ErrorCodes } from '../lib/errors';
import { httpHandler } from '../lib/http';
import { routeSpec } from '../lib/http/routes';
import { actorOf } from './actor';

/** Seconds a caller is asked to wait when no replacement is available (as POST /claim-gs asks). */
const RETRY_AFTER_SECONDS = 2;

/** POST /claims/{claimId}/replace: a lost server of the claim gives way to an available one. */
export function makeHandler(deps: Deps) {
  return httpHandler(deps, routeSpec('replace-claim-server'), async ({ params, body, caller }) => {
    const actor = actorOf(caller);
    const outcome = await replaceClaimServer(deps, { claimId: params.claimId, ...body }, actor);
    if (outcome.kind === 'none-available') {
      throw new DomainError(ErrorCodes.gsNoneAvailable, 'No game server can replace it right now', { retryAfterSeconds: RETRY_AFTER_SECONDS });
    }
    const { claim, servers, lost, replacement, replayed } = outcome;
    return {
      statusCode: 200,
      body: { ...toClaim(claim, servers, deps.clock(), actor), replaced: { lost, replacement }, replayed },
      audit: { replaced: lost, endpoints: [replacement], replayed },
    };
  });
}

export const handler = makeHandler(createDeps());
