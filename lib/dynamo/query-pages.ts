import { QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';

type Item = Record<string, unknown>;

/**
 * The pages of a Query, one request each, following LastEvaluatedKey until the last page, or
 * until the items yielded so far reach `itemLimit` (the page that reaches it is yielded whole:
 * the caller trims). `input.Limit` still bounds what DynamoDB evaluates per page.
 */
export async function* queryPages(
  ddb: DynamoDBDocumentClient,
  input: QueryCommandInput,
  options: { itemLimit?: number } = {},
): AsyncGenerator<Item[]> {
  let startKey: Item | undefined;
  let yielded = 0;
  do {
    const result: QueryCommandOutput = await ddb.send(new QueryCommand({ ...input, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }));
    const items = result.Items ?? [];
    yield items;
    yielded += items.length;
    startKey = result.LastEvaluatedKey;
  } while (startKey && (options.itemLimit === undefined || yielded < options.itemLimit));
}

/** Every item of a Query, page after page (see queryPages). */
export async function queryAll(ddb: DynamoDBDocumentClient, input: QueryCommandInput): Promise<Item[]> {
  const items: Item[] = [];
  for await (const page of queryPages(ddb, input)) items.push(...page);
  return items;
}
