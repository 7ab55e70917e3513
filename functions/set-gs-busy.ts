import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { setGameServerBusy } from '../lib/claims/claim';
import { DomainError, ErrorCodes } from '../lib/errors';
import { durationDefaults } from '../lib/config';
import { createDeps, type Deps } from '../lib/deps';
import { toGameServer } from '../lib/game-servers/view';
import { httpHandler } from '../lib/http';
import { routeSpec } from '../lib/http/routes';
import { setBusyBodySchema } from '../schemas/http';
import { actorOf } from './actor';

/**
 * POST /set-gs-busy/{endpoint} {claimId?, holdSeconds?}: an available server -> busy until the hold
 * runs out, atomically and idempotently (the same claimId again renews the hold).
 */
export function makeHandler(deps: Deps) {
  return httpHandler(deps, { ...routeSpec('set-gs-busy'), body: setBusyBodySchema(durationDefaults(deps.config)) }, async ({ params, body, caller }) => {
    const actor = actorOf(caller);
    const result = await setGameServerBusy(deps, {
      endpoint: params.endpoint,
      owner: actor.principal,
      ...body,
    }).catch((error: unknown) => {
      if (error instanceof DomainError && error.code === ErrorCodes.gsNotAvailable) deps.metrics.addMetric('ClaimConflict', MetricUnit.Count, 1);
      throw error;
    });
    deps.metrics.addMetric('ClaimSucceeded', MetricUnit.Count, 1);
    const server = toGameServer(result.server, deps.clock(), actor);
    return {
      statusCode: 200,
      body: { server, claimId: result.claimId, holdExpiresAt: new Date(result.server.holdExpiresAt!).toISOString() },
      audit: { claimId: result.claimId },
    };
  });
}

export const handler = makeHandler(createDeps());
