import { describe, expect, it } from 'vitest';
import {
  addKeyDigest,
  authenticate,
  cachedKeyring,
  formatKeyDocument,
  generateApiKey,
  hashApiKey,
  iamPrincipalKey,
  KeyringError,
  keyringFromDocument,
  MAX_KEYS_PER_NAME,
  MAX_KEYS_PER_ROLE,
  parseIamPrincipals,
  parseKeyDocument,
  parseKeyring,
  removeKeyDigest,
} from '../../lib/auth';
import { ConfigError, loadConfig } from '../../lib/config';
import { runKeys, UsageError } from '../../scripts/keys';

const digestOf = (key: string) => hashApiKey(key);

describe('API keys and their digests', () => {
  it('generates 256-bit keys with a recognisable prefix, never the same twice', () => {
    const keys = Array.from({ length: 50 }, generateApiKey);
    for (const key of keys) expect(key).toMatch(/^gsk_[A-Za-z0-9_-]{43}$/);
    expect(new Set(keys).size).toBe(50);
  });

  it('stores the lower-case hex SHA-256 of the key', () => {
    expect(hashApiKey('mm-local-key')).toBe('cd00a5a235651c3f5afbd5e1b0b4f3f9924f00123c5927a83a254e24d7f44600');
  });

  it('authenticates a key by its digest and role; the digest itself is no key', () => {
    const keyring = keyringFromDocument({ matchmaker: [digestOf('mm-key-12345')], reader: [digestOf('ro-key-12345')] });
    expect(authenticate(keyring, 'mm-key-12345')).toEqual({
      role: 'matchmaker',
      principal: 'key:matchmaker',
      name: 'matchmaker',
      keyId: digestOf('mm-key-12345').slice(0, 8),
    });
    expect(authenticate(keyring, 'ro-key-12345')?.role).toBe('reader');
    expect(authenticate(keyring, digestOf('mm-key-12345'))).toBeUndefined();
    expect(authenticate(keyring, 'mm-key-1234')).toBeUndefined();
  });

  it('keeps the local API_KEYS format working: role:key pairs, several per role', () => {
    const keyring = parseKeyring('matchmaker:mm-local-key,load-balancer:lb-local-key,reader:ro-local-key,matchmaker:mm-next-key');
    expect(['mm-local-key', 'lb-local-key', 'ro-local-key', 'mm-next-key'].map((key) => authenticate(keyring, key)?.role)).toEqual([
      'matchmaker',
      'load-balancer',
      'reader',
      'matchmaker',
    ]);
    expect(() => parseKeyring('superuser:some-long-key')).toThrow(KeyringError);
    expect(() => parseKeyring('reader:short')).toThrow(/at least 8/);
  });

  it('names key holders with name:role:key; every key of one name is one principal (a rotation keeps its claims)', () => {
    const keyring = parseKeyring('lb-pool-a:load-balancer:lb-a-key-old,lb-pool-b:load-balancer:lb-b-key-1,lb-pool-a:load-balancer:lb-a-key-new,ops:admin:adm-key-1:with-colon');
    expect(['lb-a-key-old', 'lb-a-key-new', 'lb-b-key-1', 'adm-key-1:with-colon'].map((key) => authenticate(keyring, key)).map((c) => [c?.principal, c?.role])).toEqual([
      ['key:lb-pool-a', 'load-balancer'],
      ['key:lb-pool-a', 'load-balancer'],
      ['key:lb-pool-b', 'load-balancer'],
      ['key:ops', 'admin'],
    ]);
    expect(authenticate(keyring, 'lb-a-key-old')?.keyId).not.toBe(authenticate(keyring, 'lb-a-key-new')?.keyId);
    // The older role:key form names the principal after its role.
    expect(authenticate(parseKeyring('matchmaker:mm-local-key'), 'mm-local-key')).toMatchObject({ principal: 'key:matchmaker', name: 'matchmaker' });
  });

  it('refuses a name used for two roles, bad names, and more than MAX_KEYS_PER_NAME keys of one name', () => {
    expect(() => parseKeyring('pool:load-balancer:lb-key-123,pool:matchmaker:mm-key-123')).toThrow(/two roles/);
    expect(() => parseKeyring('matchmaker:mm-key-123,matchmaker:reader:ro-key-123')).toThrow(/two roles/);
    expect(() => parseKeyring('Pool A:reader:ro-key-123')).toThrow(/key names/);
    const six = Array.from({ length: MAX_KEYS_PER_NAME + 1 }, (_, i) => `pool:reader:ro-key-12345-${i}`).join(',');
    expect(() => parseKeyring(six)).toThrow(/at most 5 keys per name/);
    for (const spec of ['pool:load-balancer:lb-key-123,pool:matchmaker:mm-key-123', 'Pool A:reader:ro-key-123', 'pool:reader:short']) {
      expect(() => parseKeyring(spec)).toThrow(KeyringError);
      expect(() => parseKeyring(spec)).not.toThrow(/lb-key-123|mm-key-123|ro-key-123|short/);
    }
  });
});

describe('the key document (SSM SecureString value)', () => {
  const mm = digestOf('mm-key-12345');
  const lb = digestOf('lb-key-12345');

  it('parses { role: [digest, ...] } and formats it back in a fixed role order', () => {
    const text = JSON.stringify({ reader: [], 'load-balancer': [lb], matchmaker: [mm] });
    const document = parseKeyDocument(text);
    expect(document).toEqual({ reader: [], 'load-balancer': [lb], matchmaker: [mm] });
    expect(formatKeyDocument(document)).toBe(JSON.stringify({ matchmaker: [mm], 'load-balancer': [lb] }));
    expect(parseKeyDocument('{}')).toEqual({});
  });

  it.each([
    ['not JSON', 'matchmaker:plaintext-key-123', /not valid JSON/],
    ['an unknown role', JSON.stringify({ superuser: [mm] }), /unknown role\(s\) superuser/],
    ['a plaintext key instead of a digest', JSON.stringify({ matchmaker: ['plaintext-key-123'] }), /SHA-256/],
    ['an upper-case digest', JSON.stringify({ matchmaker: [mm.toUpperCase()] }), /SHA-256/],
    ['a role that is not a list', JSON.stringify({ matchmaker: mm }), /matchmaker/],
    [`more than ${MAX_KEYS_PER_ROLE} keys for a role`, JSON.stringify({ reader: Array.from({ length: MAX_KEYS_PER_ROLE + 1 }, (_, i) => ({ name: `r${i}`, digest: digestOf(`key-${i}-123456`) })) }), /at most 50/],
    [`more than ${MAX_KEYS_PER_NAME} keys of one name`, JSON.stringify({ reader: Array.from({ length: 6 }, (_, i) => digestOf(`key-${i}-123456`)) }), /at most 5 keys per name/],
    ['one name under two roles', JSON.stringify({ matchmaker: [{ name: 'pool', digest: mm }], reader: [{ name: 'pool', digest: lb }] }), /two roles/],
    ['a named key with a bad name', JSON.stringify({ matchmaker: [{ name: 'Pool A', digest: mm }] }), /matchmaker/],
    ['one digest under two roles', JSON.stringify({ matchmaker: [mm], reader: [mm] }), /appears twice/],
    ['a list', JSON.stringify([mm]), /document/],
  ])('refuses %s, without echoing the content', (_name, text, message) => {
    expect(() => parseKeyDocument(text)).toThrow(message);
    try {
      parseKeyDocument(text);
    } catch (error) {
      expect((error as Error).message).not.toContain('plaintext-key-123');
      expect((error as Error).message).not.toContain(mm);
    }
  });

  it('rotates: add the new digest next to the old one, later remove the old one', () => {
    const start = { matchmaker: [mm] };
    const next = digestOf('mm-next-12345');
    const both = addKeyDigest(start, 'matchmaker', next);
    expect(both).toEqual({ matchmaker: [mm, next] });
    expect(start).toEqual({ matchmaker: [mm] });
    expect(removeKeyDigest(both, mm)).toEqual({ matchmaker: [next] });
    expect(() => addKeyDigest(both, 'reader', next)).toThrow(/already/);
    expect(() => removeKeyDigest(start, next)).toThrow(/not in the document/);
    expect(() => addKeyDigest(start, 'reader', 'nothex')).toThrow(/digest/);
    const full = { reader: Array.from({ length: MAX_KEYS_PER_NAME }, (_, i) => digestOf(`reader-${i}-12345`)) };
    expect(() => addKeyDigest(full, 'reader', next)).toThrow(/revoke one first/);
  });

  it('names keys: { name, digest } entries, rotated per name; bare digests are named after their role', () => {
    const old = digestOf('lb-a-old-12345');
    const next = digestOf('lb-a-new-12345');
    const start = addKeyDigest({ reader: [mm] }, 'load-balancer', old, 'lb-pool-a');
    expect(start).toEqual({ reader: [mm], 'load-balancer': [{ name: 'lb-pool-a', digest: old }] });
    const rotating = addKeyDigest(start, 'load-balancer', next, 'lb-pool-a');
    expect(parseKeyDocument(formatKeyDocument(rotating))).toEqual({ 'load-balancer': [{ name: 'lb-pool-a', digest: old }, { name: 'lb-pool-a', digest: next }], reader: [mm] });
    expect(authenticate(keyringFromDocument(rotating), 'lb-a-new-12345')).toMatchObject({ principal: 'key:lb-pool-a', role: 'load-balancer' });
    expect(authenticate(keyringFromDocument(rotating), 'mm-key-12345')).toMatchObject({ principal: 'key:reader', role: 'reader' });
    expect(() => addKeyDigest(rotating, 'matchmaker', lb, 'lb-pool-a')).toThrow(/two roles/);
    expect(removeKeyDigest(rotating, old)).toEqual({ 'load-balancer': [{ name: 'lb-pool-a', digest: next }], reader: [mm] });
  });
});

describe('cachedKeyring', () => {
  const documents = { a: JSON.stringify({ matchmaker: [digestOf('key-a-12345')] }), b: JSON.stringify({ matchmaker: [digestOf('key-b-12345')] }) };

  function setup(cacheMs = 1000) {
    let now = 0;
    const state = { value: documents.a, fail: undefined as Error | undefined, reads: 0 };
    const errors: string[] = [];
    const keyring = cachedKeyring({
      clock: () => now,
      cacheMs,
      retryMs: 100,
      read: async () => {
        state.reads++;
        await Promise.resolve();
        if (state.fail) throw state.fail;
        return state.value;
      },
      onError: (_error, outcome) => errors.push(outcome),
    });
    const roleOf = async (key: string) => authenticate(await keyring(), key)?.role;
    return { state, errors, keyring, roleOf, advance: (ms: number) => (now += ms) };
  }

  it('reads once for any number of concurrent first requests, then again after cacheMs', async () => {
    const { state, keyring, roleOf, advance } = setup();
    await Promise.all(Array.from({ length: 10 }, () => keyring()));
    expect(state.reads).toBe(1);
    advance(999);
    state.value = documents.b;
    expect(await roleOf('key-a-12345')).toBe('matchmaker');
    advance(1);
    expect(await roleOf('key-a-12345')).toBeUndefined();
    expect(await roleOf('key-b-12345')).toBe('matchmaker');
    expect(state.reads).toBe(2);
  });

  it('keeps the previous keys when a read fails, retrying no more than every retryMs', async () => {
    const { state, errors, roleOf, advance } = setup();
    await roleOf('key-a-12345');
    state.fail = new Error('ThrottlingException');
    advance(1000);
    expect(await roleOf('key-a-12345')).toBe('matchmaker');
    expect(await roleOf('key-a-12345')).toBe('matchmaker');
    expect(state.reads).toBe(2);
    advance(100);
    await roleOf('key-a-12345');
    expect(state.reads).toBe(3);
    expect(errors).toEqual(['kept-previous', 'kept-previous']);
  });

  it('refuses everyone when the document turns invalid, until it is fixed', async () => {
    const { state, errors, keyring, roleOf, advance } = setup();
    await roleOf('key-a-12345');
    state.value = '{"matchmaker":["oops"]}';
    advance(1000);
    await expect(keyring()).rejects.toThrow('API keys are not available');
    expect(errors).toEqual(['refused']);
    state.value = documents.a;
    advance(100);
    expect(await roleOf('key-a-12345')).toBe('matchmaker');
  });

  it('refuses everyone while the first read fails', async () => {
    const { state, keyring } = setup();
    state.fail = new Error('ParameterNotFound');
    await expect(keyring()).rejects.toThrow('API keys are not available');
  });
});

describe('IAM principals', () => {
  it.each([
    ['arn:aws:iam::123456789012:role/lb-pods', 'role|aws|123456789012|lb-pods'],
    ['arn:aws:iam::123456789012:role/eks/pods/lb-pods', 'role|aws|123456789012|lb-pods'],
    ['arn:aws:sts::123456789012:assumed-role/lb-pods/botocore-session-1', 'role|aws|123456789012|lb-pods'],
    ['arn:aws-cn:sts::123456789012:assumed-role/lb-pods/s', 'role|aws-cn|123456789012|lb-pods'],
    ['arn:aws:iam::123456789012:user/ops/dashboard', 'user|aws|123456789012|dashboard'],
    ['arn:aws:iam::123456789012:root', undefined],
    ['arn:aws:sts::123456789012:federated-user/bob', undefined],
    ['arn:aws:iam::123456789012:role/*', undefined],
    ['arn:aws:sts::12345678901:assumed-role/lb/s', undefined],
    ['lb-pods', undefined],
  ])('%s -> %s', (arn, key) => {
    expect(iamPrincipalKey(arn)).toBe(key);
  });

  it('parses the role map, refusing wildcards, sessions, unknown roles and duplicates', () => {
    const map = parseIamPrincipals(JSON.stringify({ 'arn:aws:iam::123456789012:role/eks/lb-pods': 'load-balancer', 'arn:aws:iam::123456789012:user/x': 'reader' }));
    expect([...map]).toEqual([
      ['role|aws|123456789012|lb-pods', 'load-balancer'],
      ['user|aws|123456789012|x', 'reader'],
    ]);
    expect(parseIamPrincipals(undefined).size).toBe(0);
    expect(() => parseIamPrincipals('{')).toThrow(/not valid JSON/);
    expect(() => parseIamPrincipals(JSON.stringify({ 'arn:aws:iam::123456789012:role/x': 'superuser' }))).toThrow(KeyringError);
    expect(() => parseIamPrincipals(JSON.stringify({ 'arn:aws:sts::123456789012:assumed-role/x/s': 'reader' }))).toThrow(/not an IAM role or user ARN/);
    expect(() => parseIamPrincipals(JSON.stringify({ 'arn:aws:iam::123456789012:role/*': 'reader' }))).toThrow(/not an IAM role or user ARN/);
    expect(() =>
      parseIamPrincipals(JSON.stringify({ 'arn:aws:iam::123456789012:role/a/x': 'reader', 'arn:aws:iam::123456789012:role/b/x': 'matchmaker' })),
    ).toThrow(/listed twice/);
  });
});

describe('authentication configuration', () => {
  it('defaults to API keys with a five-minute cache', () => {
    expect(loadConfig({}).auth).toEqual({ mode: 'api-key', apiKeysCacheMs: 300_000 });
  });

  it('takes a parameter name, never both it and plaintext keys', () => {
    expect(loadConfig({ API_KEYS_PARAMETER: '/gs-inventory/prod/api-keys' }).auth.apiKeysParameter).toBe('/gs-inventory/prod/api-keys');
    expect(() => loadConfig({ API_KEYS_PARAMETER: '/gs-inventory/prod/api-keys', API_KEYS: 'reader:ro-local-key' })).toThrow(/not both/);
    expect(() => loadConfig({ API_KEYS_PARAMETER: 'no-leading-slash' })).toThrow(ConfigError);
    expect(() => loadConfig({ AUTH_MODE: 'none' })).toThrow(ConfigError);
  });
});

describe('npm run keys', () => {
  const io = (files: Record<string, string> = {}, stdin = '') => ({
    readFile: (path: string) => {
      if (!(path in files)) throw new Error(`ENOENT ${path}`);
      return files[path]!;
    },
    readStdin: () => stdin,
    generateKey: () => 'gsk_fixed-key-for-the-test-000000000000000000',
  });
  const fixedDigest = hashApiKey('gsk_fixed-key-for-the-test-000000000000000000');

  it('generate prints the key once, its digest, the new document and the SecureString put command', () => {
    const out = runKeys(['generate', '--role', 'load-balancer', '--stage', 'prod', '--region', 'eu-west-1'], io());
    const document = JSON.stringify({ 'load-balancer': [fixedDigest] });
    expect(out.split('gsk_fixed-key-for-the-test-000000000000000000').length - 1).toBe(2); // the key, and the local API_KEYS hint
    expect(out).toContain(fixedDigest);
    expect(out).toContain(`aws ssm put-parameter --name /gs-inventory/prod/api-keys --type SecureString --overwrite --region eu-west-1 --value '${document}'`);
  });

  it('generate adds to the current document (rotation) and revoke removes from it', () => {
    const old = hashApiKey('old-key-123456');
    const files = { 'current.json': JSON.stringify({ matchmaker: [old] }) };
    const added = runKeys(['generate', '--role', 'matchmaker', '--document', 'current.json'], io(files));
    expect(added).toContain(`--value '${JSON.stringify({ matchmaker: [old, fixedDigest] })}'`);
    expect(added).toContain('/gs-inventory/dev/api-keys');
    const revoked = runKeys(['revoke', '--digest', old.toUpperCase(), '--document', 'current.json'], io(files));
    expect(revoked).toContain(`--value '${JSON.stringify({})}'`);
    expect(runKeys(['check', '--document', 'current.json'], io(files))).toBe(
      'matchmaker: 1 key(s) (matchmaker: 1)\nload-balancer: 0 key(s)\nreader: 0 key(s)\nadmin: 0 key(s)',
    );
  });

  it('generate --name adds a named key (a second one of that name is a rotation)', () => {
    const old = hashApiKey('old-lb-key-123456');
    const files = { 'current.json': JSON.stringify({ 'load-balancer': [{ name: 'lb-pool-a', digest: old }] }) };
    const out = runKeys(['generate', '--role', 'load-balancer', '--name', 'lb-pool-a', '--document', 'current.json'], io(files));
    expect(out).toContain(`--value '${JSON.stringify({ 'load-balancer': [{ name: 'lb-pool-a', digest: old }, { name: 'lb-pool-a', digest: fixedDigest }] })}'`);
    expect(out).toContain('2 valid key(s) named lb-pool-a: a rotation');
    expect(out).toContain('API_KEYS=lb-pool-a:load-balancer:gsk_fixed-key-for-the-test-000000000000000000');
    expect(() => runKeys(['generate', '--role', 'reader', '--name', 'lb-pool-a', '--document', 'current.json'], io(files))).toThrow(/two roles/);
  });

  it('hash prints the digest of each key on stdin', () => {
    expect(runKeys(['hash'], io({}, 'mm-local-key\n\n  lb-local-key  \n'))).toBe(`${hashApiKey('mm-local-key')}\n${hashApiKey('lb-local-key')}`);
  });

  it('refuses unknown commands and roles, bad stages and invalid documents', () => {
    expect(() => runKeys([], io())).toThrow(UsageError);
    expect(() => runKeys(['generate', '--role', 'superuser'], io())).toThrow(UsageError);
    expect(() => runKeys(['generate', '--role', 'reader', '--stage', 'Prod!'], io())).toThrow(UsageError);
    expect(() => runKeys(['revoke', '--digest', 'abc'], io())).toThrow(/--document/);
    expect(() => runKeys(['check', '--document', 'bad.json'], io({ 'bad.json': '{"superuser":[]}' }))).toThrow(KeyringError);
  });
});
