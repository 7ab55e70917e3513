/**
 * Shapes of the API's JSON answers, as the page reads them: the API's own schemas (type-only
 * imports: nothing of zod reaches the bundle), so the page and the routes cannot drift apart.
 */
import type { FeedEvent, FleetServer } from '../../schemas/http';
import type { GameServerStatus } from '../../schemas/items';

export type { FeedEvent, Fleet, FleetServer } from '../../schemas/http';
export type { DrainReason } from '../../schemas/primitives';
export type FleetClaim = NonNullable<FleetServer['claim']>;
export type ServerStatus = GameServerStatus;

export const SERVER_STATUSES = ['available', 'claimed', 'busy', 'draining', 'terminated'] as const satisfies readonly ServerStatus[];

export interface RecentEvents {
  events: FeedEvent[];
}
