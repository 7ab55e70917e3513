// Command-line and environment handling shared by the pod clients (gs-agent, lb-bootstrap,
// node-drain-watcher): every option is a --flag with an environment variable behind it, so the
// same binary is configured by flags on a laptop and by env (downward API) in a pod.
import { parseArgs } from 'node:util';
import { jsonLogger, SqsEventSender, type AgentLogger, type LogLevel } from '../lib';

export interface OptionSpec {
  env?: string;
  description: string;
  default?: string;
  /** A switch (no value). */
  boolean?: boolean;
  /**
   * A switch that is on unless turned off: `--no-<name>` (or its environment variable `false`/`0`)
   * turns it off. Its default is `true`.
   */
  negatable?: boolean;
  /** May be given several times (flags only). */
  multiple?: boolean;
}

export type OptionSpecs = Record<string, OptionSpec>;

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface ParsedCommandLine {
  value(name: string): string | undefined;
  required(name: string): string;
  list(name: string): string[];
  flag(name: string): boolean;
  /** Arguments after `--`. */
  rest: string[];
}

export function usage(command: string, summary: string, specs: OptionSpecs, tail = ''): string {
  const lines = Object.entries(specs).map(([name, spec]) => {
    const left = `  --${spec.negatable ? '[no-]' : ''}${name}${spec.boolean ? '' : ' <value>'}`;
    const env = spec.env ? ` [${spec.env}]` : '';
    const def = spec.default !== undefined ? ` (default ${spec.default})` : '';
    return `${left.padEnd(34)} ${spec.description}${env}${def}`;
  });
  return `Usage: ${command} [options]${tail}\n\n${summary}\n\nOptions (environment variable in brackets):\n${lines.join('\n')}\n${'  --help'.padEnd(34)} this text\n`;
}

/** Flags win over environment variables, which win over defaults. */
export function parseCommandLine(specs: OptionSpecs, argv: string[], env: NodeJS.ProcessEnv): ParsedCommandLine & { help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { help: { type: 'boolean' } };
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = { type: spec.boolean ? 'boolean' : 'string', ...(spec.multiple ? { multiple: true } : {}) };
    if (spec.negatable) options[`no-${name}`] = { type: 'boolean' };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const separator = argv.indexOf('--');
  const rest = separator >= 0 ? argv.slice(separator + 1) : [];
  if (parsed.positionals.length > rest.length) throw new UsageError(`unexpected argument ${parsed.positionals[0]} (a command goes after --)`);
  const values = parsed.values as Record<string, string | string[] | boolean | undefined>;

  const value = (name: string): string | undefined => {
    const spec = specs[name];
    if (!spec) throw new Error(`unknown option ${name}`);
    const given = values[name];
    if (typeof given === 'string') return given;
    if (Array.isArray(given)) return given.join(',');
    const fromEnv = spec.env ? env[spec.env] : undefined;
    return fromEnv !== undefined && fromEnv !== '' ? fromEnv : spec.default;
  };
  return {
    help: values.help === true,
    rest,
    value,
    required(name) {
      const found = value(name);
      if (found === undefined) throw new UsageError(`--${name}${specs[name]?.env ? ` (or ${specs[name]!.env})` : ''} is required`);
      return found;
    },
    list(name) {
      return (value(name) ?? '')
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean);
    },
    flag(name) {
      const spec = specs[name];
      if (spec?.negatable && values[`no-${name}`] === true) return false;
      const given = values[name];
      if (typeof given === 'boolean') return given;
      const fromEnv = spec?.env ? env[spec.env] : undefined;
      if (spec?.negatable) {
        const setting = fromEnv?.toLowerCase();
        if (setting === undefined || setting === '' || setting === 'true' || setting === '1') return true;
        if (setting === 'false' || setting === '0') return false;
        throw new UsageError(`${spec.env} must be true or false`);
      }
      return fromEnv === 'true' || fromEnv === '1';
    },
  };
}

/** `map=dust,mode=ranked` -> { map: 'dust', mode: 'ranked' } */
export function parseLabels(items: string[]): Record<string, string> | undefined {
  if (items.length === 0) return undefined;
  const labels: Record<string, string> = {};
  for (const item of items) {
    const separator = item.indexOf('=');
    if (separator <= 0) throw new UsageError(`label ${JSON.stringify(item)} is not key=value`);
    labels[item.slice(0, separator)] = item.slice(separator + 1);
  }
  return labels;
}

export function parseNumber(name: string, text: string | undefined, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number | undefined {
  if (text === undefined) return undefined;
  const number = Number(text);
  if (!Number.isFinite(number) || number < min || number > max) throw new UsageError(`--${name} must be a number from ${min} to ${max}`);
  return number;
}

export const SQS_OPTIONS: OptionSpecs = {
  'queue-url': { env: 'QUEUE_URL', description: 'URL of the status queue' },
  'sqs-endpoint': { env: 'SQS_ENDPOINT', description: 'a local SQS-compatible endpoint instead of AWS' },
  'aws-region': { env: 'AWS_REGION', description: 'AWS region of the queue (default: from the queue URL)' },
  'log-level': { env: 'LOG_LEVEL', description: 'debug, info, warn, error or silent', default: 'info' },
};

export function loggerFrom(command: string, cli: ParsedCommandLine): AgentLogger {
  const level = (cli.value('log-level') ?? 'info').toLowerCase();
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(level)) throw new UsageError('--log-level must be debug, info, warn, error or silent');
  return jsonLogger(command, level as LogLevel);
}

/**
 * The queue sender. Against a local endpoint without AWS credentials in the environment, dummy
 * credentials are used (local SQS checks none); on AWS the SDK's default chain applies (IRSA).
 */
export function senderFrom(cli: ParsedCommandLine, env: NodeJS.ProcessEnv, logger: AgentLogger): SqsEventSender {
  const endpoint = cli.value('sqs-endpoint');
  const region = cli.value('aws-region');
  return new SqsEventSender({
    queueUrl: cli.required('queue-url'),
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    // Not lib/local-credentials: the pod clients are shipped alone and import nothing of the server's lib/.
    ...(endpoint && !env.AWS_ACCESS_KEY_ID && !env.AWS_WEB_IDENTITY_TOKEN_FILE ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    logger,
  });
}

/** Runs a command's main; usage errors and bad configuration end it with code 2 and a clear line. */
export async function runCommand(command: string, main: () => Promise<number>): Promise<never> {
  let code: number;
  try {
    code = await main();
  } catch (error) {
    const issues = (error as { issues?: Array<{ path: PropertyKey[]; message: string }> }).issues;
    const message = issues
      ? `invalid configuration: ${issues.map((issue) => `${issue.path.map(String).join('.')}: ${issue.message}`).join('; ')}`
      : error instanceof Error
        ? error.message
        : String(error);
    process.stderr.write(`${command}: ${message}\n`);
    code = error instanceof UsageError || (error as Error)?.name === 'ZodError' ? 2 : 1;
  }
  process.exit(code);
}
