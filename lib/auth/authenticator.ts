import type { Config } from '../config';
import { iamPrincipalKey, iamPrincipalId, parseIamPrincipals } from './iam';
import { cachedKeyring, KeyringUnavailableError, ssmParameterReader, type KeyringCacheOptions } from './keyring';
import { authenticate, parseKeyring, type Caller, type KeyEntry } from './keys';

export interface Credentials {
  /** The Bearer token of the Authorization header. */
  bearer?: string;
  /** `requestContext.authorizer.iam.userArn`, set by API Gateway after it verified a SigV4 signature. */
  iamArn?: string;
}

export type AuthOutcome =
  | { kind: 'authenticated'; caller: Caller }
  /** No credentials, or credentials nobody issued. */
  | { kind: 'unauthenticated' }
  /** A verified IAM principal that has no role here. */
  | { kind: 'no-role' }
  /** The keys could not be read: the caller may be fine, we cannot tell. */
  | { kind: 'unavailable' };

export interface Authenticator {
  mode: Config['auth']['mode'];
  authenticate(credentials: Credentials): Promise<AuthOutcome>;
}

/**
 * Builds the authenticator of a function instance from its configuration:
 * - `iam`: API Gateway has verified the SigV4 signature; the principal's ARN is mapped to a role.
 * - `api-key` with `apiKeysParameter` (AWS): key digests from SSM, cached (cachedKeyring).
 * - `api-key` with `apiKeys` (local): `name:role:key,...` from the environment.
 * Throws KeyringError at construction for unusable static configuration (a cold-start failure).
 */
export function createAuthenticator(
  config: Pick<Config, 'auth' | 'apiKeys' | 'awsRegion' | 'endpoints'>,
  options: { clock: () => number; onKeyringError?: KeyringCacheOptions['onError'] },
): Authenticator {
  if (config.auth.mode === 'iam') {
    const principals = parseIamPrincipals(config.auth.iamPrincipals);
    return {
      mode: 'iam',
      authenticate: async ({ iamArn }) => {
        if (!iamArn) return { kind: 'unauthenticated' };
        const key = iamPrincipalKey(iamArn);
        const role = key ? principals.get(key) : undefined;
        if (!key || !role) return { kind: 'no-role' };
        return { kind: 'authenticated', caller: { role, principal: iamPrincipalId(key), name: iamArn } };
      },
    };
  }
  const parameter = config.auth.apiKeysParameter;
  let keyring: () => Promise<KeyEntry[]>;
  if (parameter) {
    keyring = cachedKeyring({
      read: ssmParameterReader(config, parameter),
      clock: options.clock,
      cacheMs: config.auth.apiKeysCacheMs,
      ...(options.onKeyringError ? { onError: options.onKeyringError } : {}),
    });
  } else {
    const local = parseKeyring(config.apiKeys);
    keyring = async () => local;
  }
  return {
    mode: 'api-key',
    authenticate: async ({ bearer }) => {
      if (!bearer) return { kind: 'unauthenticated' };
      let entries: KeyEntry[];
      try {
        entries = await keyring();
      } catch (error) {
        if (error instanceof KeyringUnavailableError) return { kind: 'unavailable' };
        throw error;
      }
      const caller = authenticate(entries, bearer);
      return caller ? { kind: 'authenticated', caller } : { kind: 'unauthenticated' };
    },
  };
}
