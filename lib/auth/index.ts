// The public API of authentication. Callers that need only one part import its module directly
// (scripts/keys.ts imports ./keys, so the CLI never loads the SSM client).
export * from './keys';
export * from './keyring';
export { iamPrincipalKey, parseIamPrincipals } from './iam';
export * from './authenticator';
