import type { Role } from '../lib/auth';

/** Every authenticated caller: GET routes. */
export const ANY_ROLE: readonly Role[] = ['matchmaker', 'load-balancer', 'reader'];
/** Callers that may claim, confirm and release servers. */
export const CLAIMERS: readonly Role[] = ['matchmaker', 'load-balancer'];
