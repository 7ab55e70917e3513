import type { Caller } from '../lib/auth/keys';
import type { Actor } from '../lib/ownership';

/** Who acts, for the ownership rules (lib/ownership.ts). Every route that uses it has roles, so a caller. */
export function actorOf(caller: Caller | undefined): Actor {
  if (!caller) throw new Error('actorOf: route without authentication');
  return { principal: caller.principal, admin: caller.role === 'admin' };
}
