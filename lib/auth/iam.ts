import { z } from 'zod';
import { KeyringError, RoleSchema, type Role } from './keys';

const PARTITION = 'aws[a-z-]*';
const ACCOUNT = '\\d{12}';
const NAME = '[\\w+=,.@-]{1,64}';
const PATH = '(?:/[\\x21-\\x7e]*)?/';
const IAM_ROLE_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):role${PATH}(${NAME})$`);
const IAM_USER_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):user${PATH}(${NAME})$`);
const ASSUMED_ROLE_ARN = new RegExp(`^arn:(${PARTITION}):sts::(${ACCOUNT}):assumed-role/(${NAME})/[\\w+=,.@-]{1,64}$`);

/**
 * `role|<partition>|<account>|<name>` for an IAM role ARN or an STS assumed-role ARN (what a pod
 * using IRSA calls with; the assumed-role ARN drops the role's path, so paths are ignored), and
 * `user|...` for an IAM user. Anything else (root, federated users, wildcards) has no key.
 */
export function iamPrincipalKey(arn: string): string | undefined {
  const role = IAM_ROLE_ARN.exec(arn) ?? ASSUMED_ROLE_ARN.exec(arn);
  if (role) return `role|${role[1]}|${role[2]}|${role[3]}`;
  const user = IAM_USER_ARN.exec(arn);
  return user ? `user|${user[1]}|${user[2]}|${user[3]}` : undefined;
}

/** The principal of an IAM caller (see iamPrincipalKey): `iam:<partition>:<account>:<role|user>/<name>`. */
export function iamPrincipalId(key: string): string {
  const [kind, partition, account, name] = key.split('|');
  return `iam:${partition}:${account}:${kind}/${name}`;
}

/**
 * Parses IAM_PRINCIPALS: JSON `{ "<IAM role or user ARN>": "<role>" }`. Only exact role and user
 * ARNs are accepted (no wildcards, no assumed-role session ARNs). Throws KeyringError.
 */
export function parseIamPrincipals(spec: string | undefined): Map<string, Role> {
  const principals = new Map<string, Role>();
  if (!spec) return principals;
  let json: unknown;
  try {
    json = JSON.parse(spec);
  } catch {
    throw new KeyringError('IAM_PRINCIPALS: not valid JSON');
  }
  const parsed = z.record(z.string(), RoleSchema).safeParse(json);
  if (!parsed.success) throw new KeyringError(`IAM_PRINCIPALS: expected {"<role or user ARN>": "${RoleSchema.options.join('|')}"}`);
  for (const [arn, role] of Object.entries(parsed.data)) {
    const key = IAM_ROLE_ARN.test(arn) || IAM_USER_ARN.test(arn) ? iamPrincipalKey(arn) : undefined;
    if (!key) throw new KeyringError(`IAM_PRINCIPALS: ${arn} is not an IAM role or user ARN`);
    if (principals.has(key)) throw new KeyringError(`IAM_PRINCIPALS: ${arn} is listed twice`);
    principals.set(key, role);
  }
  return principals;
}
