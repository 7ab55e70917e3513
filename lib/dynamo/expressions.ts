/**
 * Building condition and update expressions from named clauses (as Powertools' idempotency layer
 * names `idempotencyKeyDoesNotExist`): each clause is a constant whose name says what it checks,
 * the expression joins them, and the attribute names are derived from the finished expressions
 * once, never written out by hand.
 */

/**
 * ExpressionAttributeNames for every `#name` placeholder in the given expressions, each naming
 * the attribute of the same name (our attribute names are plain identifiers).
 */
export function attributeNames(...expressions: string[]): Record<string, string> {
  const names: Record<string, string> = {};
  for (const expression of expressions) for (const [, name] of expression.matchAll(/#(\w+)/g)) names[`#${name}`] = name!;
  return names;
}

/**
 * Joins named clauses with AND, each in parentheses (the names document the condition). A clause
 * must not itself be wrapped in one pair of parentheses: DynamoDB refuses redundant ones.
 */
export function allOf(clauses: Record<string, string>): string {
  return joinClauses(clauses, 'AND');
}

/** Joins named alternatives with OR, each in parentheses (see allOf). */
export function anyOf(clauses: Record<string, string>): string {
  return joinClauses(clauses, 'OR');
}

function joinClauses(clauses: Record<string, string>, operator: 'AND' | 'OR'): string {
  return Object.values(clauses)
    .map((clause) => `(${clause})`)
    .join(` ${operator} `);
}

/** An UpdateExpression from its SET assignments and the attributes it REMOVEs (either may be empty). */
export function updateExpression(change: { set?: string[]; remove?: string[] }): string {
  const set = change.set?.length ? `SET ${change.set.join(', ')}` : '';
  const remove = change.remove?.length ? `REMOVE ${change.remove.join(', ')}` : '';
  return [set, remove].filter(Boolean).join(' ');
}

export interface ExpressionParts {
  condition?: string;
  update?: string;
  values?: Record<string, unknown>;
  /** Placeholders for attribute names that are data (a label key), not identifiers. */
  names?: Record<string, string>;
}

/** The expression fields of a write; those whose part was given are present (not optional). */
export type WriteExpressions<P extends ExpressionParts = ExpressionParts> = { ExpressionAttributeNames: Record<string, string> } & (P extends {
  condition: string;
}
  ? { ConditionExpression: string }
  : {}) &
  (P extends { update: string } ? { UpdateExpression: string } : {}) &
  (P extends { values: Record<string, unknown> } ? { ExpressionAttributeValues: Record<string, unknown> } : {});

/**
 * The expression fields of a conditional write. Every `#name` placeholder names the attribute of
 * the same name, except those given in `names`.
 */
export function writeExpressions<P extends ExpressionParts>(parts: P): WriteExpressions<P> {
  const expressions = [parts.condition, parts.update].filter((expression): expression is string => expression !== undefined);
  return {
    ...(parts.condition !== undefined ? { ConditionExpression: parts.condition } : {}),
    ...(parts.update !== undefined ? { UpdateExpression: parts.update } : {}),
    ExpressionAttributeNames: { ...attributeNames(...expressions), ...parts.names },
    ...(parts.values !== undefined ? { ExpressionAttributeValues: parts.values } : {}),
  } as WriteExpressions<P>;
}
