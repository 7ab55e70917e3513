import { httpRoute } from '../infra/functions.cjs';
import type { Caller, Role } from '../lib/auth/keys';
import type { Actor } from '../lib/ownership';

/** Who may call the catalogue's HTTP route `name` (infra/functions.cjs): its roles, or `public`. */
export function routeRoles(name: string): readonly Role[] | 'public' {
  const route = httpRoute(name);
  return route.public ? 'public' : route.roles;
}

/** Who acts, for the ownership rules (lib/ownership.ts). Every route that uses it has roles, so a caller. */
export function actorOf(caller: Caller | undefined): Actor {
  if (!caller) throw new Error('actorOf: route without authentication');
  return { principal: caller.principal, admin: caller.role === 'admin' };
}
