import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Config } from '../config';
import { LOCAL_CREDENTIALS } from '../local-credentials';
import { KeyringError, keyringFromDocument, parseKeyDocument, type KeyEntry } from './keys';

/** The key digests could not be read and no earlier copy is at hand. */
export class KeyringUnavailableError extends Error {
  override name = 'KeyringUnavailableError';
}

export interface KeyringCacheOptions {
  /** Reads the key document (the SSM parameter's decrypted value). */
  read: () => Promise<string>;
  clock: () => number;
  /** A document is used for this long, then read again: how long a rotation takes to reach every instance. */
  cacheMs: number;
  /** After a failed read, the next attempt waits this long (requests in between do not hammer SSM). */
  retryMs?: number;
  onError?: (error: unknown, outcome: 'kept-previous' | 'refused') => void;
}

/**
 * The keyring of a function instance on AWS: read on the first request (cold start), reused for
 * `cacheMs`, then read again, one read at a time however many requests wait.
 *
 * Failure rules: when the read fails (SSM throttled or unreachable) the previous keyring stays in
 * use, so an SSM outage does not lock callers out; when the document itself is invalid (or not a
 * SecureString) nobody is let in until it is fixed: an edit meant to revoke a key never leaves
 * the old keys valid by accident. Throws KeyringUnavailableError while there is no keyring.
 *
 * Not Powertools Parameters (SSMProvider with `maxAge`): its cache drops the value and throws on a
 * failed refresh instead of keeping the previous one, lets concurrent requests each read SSM, has
 * no retry backoff or injectable clock, and returns only the value, so a plain String parameter
 * could not be refused.
 */
export function cachedKeyring(options: KeyringCacheOptions): () => Promise<KeyEntry[]> {
  const retryMs = options.retryMs ?? 5000;
  let current: { keyring: KeyEntry[]; readAt: number } | undefined;
  let failedAt: number | undefined;
  let reading: Promise<void> | undefined;

  const refresh = async () => {
    try {
      const keyring = keyringFromDocument(parseKeyDocument(await options.read()));
      current = { keyring, readAt: options.clock() };
      failedAt = undefined;
    } catch (error) {
      failedAt = options.clock();
      const invalid = error instanceof KeyringError;
      if (invalid) current = undefined;
      options.onError?.(error, current ? 'kept-previous' : 'refused');
    }
  };

  return async () => {
    const now = options.clock();
    const fresh = current !== undefined && now - current.readAt < options.cacheMs;
    const backingOff = failedAt !== undefined && now - failedAt < retryMs;
    if (!fresh && !backingOff) {
      reading ??= refresh().finally(() => {
        reading = undefined;
      });
      await reading;
    }
    if (!current) throw new KeyringUnavailableError('API keys are not available');
    return current.keyring;
  };
}

/**
 * Reads the key document from SSM Parameter Store (decrypted). Refuses anything but a
 * SecureString, so the digests never sit in a plain parameter. The client is built on first use.
 */
export function ssmParameterReader(config: Pick<Config, 'awsRegion' | 'endpoints'>, name: string): () => Promise<string> {
  let client: SSMClient | undefined;
  return async () => {
    const local = config.endpoints.ssm;
    client ??= new SSMClient({ region: config.awsRegion, maxAttempts: 3, ...(local ? { endpoint: local, credentials: LOCAL_CREDENTIALS } : {}) });
    const { Parameter: parameter } = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    if (parameter?.Type !== 'SecureString') throw new KeyringError(`api key parameter ${name} is not a SecureString`);
    return parameter.Value ?? '';
  };
}
