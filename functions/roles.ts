import type { Caller, Role } from '../lib/auth/keys';
import type { Actor } from '../lib/ownership';

/** Every authenticated caller: GET routes. */
export const ANY_ROLE: readonly Role[] = ['matchmaker', 'load-balancer', 'reader', 'admin'];
/** Callers that may claim, confirm and release servers (their own; an admin anyone's). */
export const CLAIMERS: readonly Role[] = ['matchmaker', 'load-balancer', 'admin'];

/** Who acts, for the ownership rules (lib/ownership.ts). Every route that uses it has roles, so a caller. */
export function actorOf(caller: Caller | undefined): Actor {
  if (!caller) throw new Error('actorOf: route without authentication');
  return { principal: caller.principal, admin: caller.role === 'admin' };
}
