import { setGameServerBusy } from '../lib/claims/claim';
import { createDeps, type Deps } from '../lib/deps';
import { toGameServer } from '../lib/game-servers/view';
import { httpHandler } from '../lib/http';
import { EndpointParamsSchema, SetBusyBodySchema } from '../schemas/http';
import { CLAIMERS } from './roles';

/** POST /set-gs-busy/{endpoint} {claimId?}: an available server -> busy, atomically and idempotently. */
export function makeHandler(deps: Deps) {
  return httpHandler(deps, { roles: CLAIMERS, params: EndpointParamsSchema, body: SetBusyBodySchema }, async ({ params, body }) => {
    const result = await setGameServerBusy(deps, { endpoint: params.endpoint, ...(body?.claimId ? { claimId: body.claimId } : {}) });
    return { statusCode: 200, body: { server: toGameServer(result.server, deps.clock()), claimId: result.claimId } };
  });
}

export const handler = makeHandler(createDeps());
