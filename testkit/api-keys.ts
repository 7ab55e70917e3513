/**
 * The local API keys of the three roles, as tests and the bench configure a stage with them
 * (API_KEYS, plain text: local only, never on AWS).
 */
export const KEYS = { matchmaker: 'mm-test-key-1', loadBalancer: 'lb-test-key-1', reader: 'ro-test-key-1' } as const;
export const API_KEYS_ENV = `matchmaker:${KEYS.matchmaker},load-balancer:${KEYS.loadBalancer},reader:${KEYS.reader}`;
