// `npm run keys -- <command>`: API keys for a deployed stage (SECURITY.md). Never talks to AWS: it
// prints the key once, its SHA-256 digest, the new key document and the `aws ssm` command that
// stores it, so the operator's own credentials do the writing.
//
//   npm run keys -- generate --role load-balancer --name lb-pool-a [--document current.json] [--stage prod]
//   npm run keys -- revoke --digest <sha256 hex> --document current.json [--stage prod]
//   npm run keys -- check --document current.json
//   npm run keys -- hash < keys.txt            (digest of each key on stdin, one per line)
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  addKeyDigest,
  describeKeyDocument,
  formatKeyDocument,
  generateApiKey,
  hashApiKey,
  KeyringError,
  parseKeyDocument,
  removeKeyDigest,
  RoleSchema,
  type KeyDocument,
} from '../lib/auth/keys';

const SERVICE = 'gs-inventory';

export class UsageError extends Error {
  override name = 'UsageError';
}

const USAGE = `usage:
  npm run keys -- generate --role <${RoleSchema.options.join('|')}> [--name NAME] [--document FILE] [--stage STAGE] [--region REGION]
  npm run keys -- revoke --digest <sha256 hex> --document FILE [--stage STAGE] [--region REGION]
  npm run keys -- check --document FILE
  npm run keys -- hash            (reads keys from stdin, one per line)

NAME is the key holder (the principal its claims belong to; default: the role). A second key of
an existing name is a rotation: revoke the old one once every holder uses the new one.
FILE is the current key document, as read with:
  aws ssm get-parameter --name /${SERVICE}/<stage>/api-keys --with-decryption --query Parameter.Value --output text > FILE`;

export interface KeysIo {
  readFile(path: string): string;
  readStdin(): string;
  /** Random key source (tests pass a fixed one). */
  generateKey?: () => string;
}

const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

function storeCommand(document: KeyDocument, stage: string, region: string | undefined): string {
  return [
    'aws ssm put-parameter',
    `--name /${SERVICE}/${stage}/api-keys`,
    '--type SecureString --overwrite',
    ...(region ? [`--region ${region}`] : []),
    `--value ${shellQuote(formatKeyDocument(document))}`,
  ].join(' ');
}

/** Runs one command; returns what to print. Throws UsageError or KeyringError. */
export function runKeys(argv: string[], io: KeysIo): string {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      role: { type: 'string' },
      name: { type: 'string' },
      digest: { type: 'string' },
      document: { type: 'string' },
      stage: { type: 'string', default: 'dev' },
      region: { type: 'string' },
    },
  });
  const [command] = positionals;
  const readDocument = (required: boolean): KeyDocument => {
    if (!values.document) {
      if (required) throw new UsageError(`${command} needs --document FILE\n\n${USAGE}`);
      return {};
    }
    return parseKeyDocument(io.readFile(values.document));
  };
  if (!/^[a-z0-9-]{1,40}$/.test(values.stage)) throw new UsageError('--stage must be lower-case letters, digits or dashes');

  switch (command) {
    case 'generate': {
      const role = RoleSchema.safeParse(values.role);
      if (!role.success) throw new UsageError(`generate needs --role ${RoleSchema.options.join('|')}\n\n${USAGE}`);
      const key = (io.generateKey ?? generateApiKey)();
      const digest = hashApiKey(key);
      const name = values.name ?? role.data;
      const document = addKeyDigest(readDocument(false), role.data, digest, name);
      const ofName = describeKeyDocument(document).find((row) => row.name === name)!.keys;
      return [
        `New ${role.data} key named ${name} (shown once: put it in the caller's secret store, never in the repository):`,
        `  ${key}`,
        `Its SHA-256 digest (what the API stores; not secret):`,
        `  ${digest}`,
        `Key document with it (${ofName} valid key(s) named ${name}${ofName > 1 ? ': a rotation; revoke the old one when it is no longer used' : ''}):`,
        `  ${formatKeyDocument(document)}`,
        `Store it for stage ${values.stage} (a running function picks it up within API_KEYS_CACHE_SECONDS, 300 by default):`,
        `  ${storeCommand(document, values.stage, values.region)}`,
        `Locally the same key works as API_KEYS=${name}:${role.data}:${key}`,
      ].join('\n');
    }
    case 'revoke': {
      const digest = values.digest?.toLowerCase();
      if (!digest) throw new UsageError(`revoke needs --digest <sha256 hex>\n\n${USAGE}`);
      const document = removeKeyDigest(readDocument(true), digest);
      return [
        'Key document without it:',
        `  ${formatKeyDocument(document)}`,
        `Store it for stage ${values.stage}; the key stops working within API_KEYS_CACHE_SECONDS (300 by default):`,
        `  ${storeCommand(document, values.stage, values.region)}`,
      ].join('\n');
    }
    case 'check': {
      const document = readDocument(true);
      const rows = describeKeyDocument(document);
      return RoleSchema.options
        .map((role) => {
          const names = rows.filter((row) => row.role === role);
          const keys = names.reduce((sum, row) => sum + row.keys, 0);
          return `${role}: ${keys} key(s)${names.length ? ` (${names.map((row) => `${row.name}: ${row.keys}`).join(', ')})` : ''}`;
        })
        .join('\n');
    }
    case 'hash':
      return io
        .readStdin()
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean)
        .map(hashApiKey)
        .join('\n');
    default:
      throw new UsageError(USAGE);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    process.stdout.write(
      `${runKeys(process.argv.slice(2), {
        readFile: (path) => readFileSync(path, 'utf8'),
        readStdin: () => readFileSync(0, 'utf8'),
      })}\n`,
    );
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof KeyringError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) throw error;
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
}
