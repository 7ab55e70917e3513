// The claim path's production settings the simulation models, taken from lib/ where lib names them.
import { MAX_ATTEMPTS } from '../../lib/claims/claim';
import { loadConfig } from '../../lib/config';

/** lib/config.ts defaults (no variables set): candidate cache, heartbeat timeout, retention, lease. */
export const PRODUCTION_DEFAULTS = loadConfig({});
/** The largest AVAILABILITY_SHARDS lib/config.ts accepts. */
export const MAX_AVAILABILITY_SHARDS = 64;

export const CACHE_TTL_MS = PRODUCTION_DEFAULTS.candidateCacheMs;
/** lib/game-servers/candidates.ts: CandidateCache lists this many servers per refresh (its listSize default). */
export const LIST_SIZE = 100;
/** lib/claims/claim.ts: attempts before a claimer gives up. */
export const CLAIM_MAX_ATTEMPTS = MAX_ATTEMPTS;
/** lib/game-servers/list.ts: pageSize = min(max(limit * 2, 25), 200). */
export const CURRENT_PAGE = Math.min(Math.max(LIST_SIZE * 2, 25), 200);
/**
 * `proposed` (history, quoted by docs/SCALING.md): one random shard per refresh, a page this big,
 * the page the retired random-shard prototype (its bench scenario is gone) was measured with.
 */
export const PROPOSED_PAGE = 50;
/**
 * `positions`: lib/game-servers/candidates.ts lists a window of one random shard from a random
 * pool position, a page of listSize, and wraps around for the rest when the first page is short.
 */
export const POSITIONS_PAGE = LIST_SIZE;
