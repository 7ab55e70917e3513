import { BatchGetCommand, type BatchGetCommandOutput, GetCommand } from '@aws-sdk/lib-dynamodb';
import resources from '../../infra/resources.cjs';
import { NodeItemSchema, type NodeItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { putIfVersion, queryAll } from '../dynamo';

type RepoDeps = Pick<Deps, 'ddb' | 'config'>;

export async function getNode(deps: RepoDeps, node: string): Promise<NodeItem | undefined> {
  const result = await deps.ddb.send(new GetCommand({ TableName: deps.config.tables.nodes, Key: { node }, ConsistentRead: true }));
  return result.Item ? NodeItemSchema.parse(result.Item) : undefined;
}

/** Reads several node records (consistent), one round trip per 100; nodes without a record are absent. */
export async function getNodes(deps: RepoDeps, nodes: string[]): Promise<Map<string, NodeItem>> {
  const found = new Map<string, NodeItem>();
  const table = deps.config.tables.nodes;
  const unique = [...new Set(nodes)];
  for (let i = 0; i < unique.length; i += 100) {
    let keys: Record<string, unknown>[] | undefined = unique.slice(i, i + 100).map((node) => ({ node }));
    while (keys && keys.length > 0) {
      const result: BatchGetCommandOutput = await deps.ddb.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of result.Responses?.[table] ?? []) found.set(item.node, NodeItemSchema.parse(item));
      keys = result.UnprocessedKeys?.[table]?.Keys;
    }
  }
  return found;
}

/** Writes the node record if it is still at `expectedVersion` (undefined: if it does not exist). */
export async function putNodeIfVersion(deps: RepoDeps, item: NodeItem, expectedVersion: number | undefined): Promise<'written' | 'conflict'> {
  return putIfVersion(deps.ddb, { name: deps.config.tables.nodes, key: 'node' }, item, expectedVersion);
}

/**
 * Endpoints of the game-server records that name `node`, from the `by-node` index (keys only:
 * the caller reads the records themselves, consistently). A Query per page of the node's servers,
 * never a Scan. The index may lag behind the table: a record written a moment ago may be missing
 * (see lib/ingestion/apply-node-event.ts for why that is covered).
 */
export async function queryEndpointsOnNode(deps: RepoDeps, node: string): Promise<string[]> {
  const index = resources.NODE_INDEX;
  const items = await queryAll(deps.ddb, {
    TableName: deps.config.tables.gameServers,
    IndexName: index.indexName,
    KeyConditionExpression: '#node = :node',
    ExpressionAttributeNames: { '#node': index.partitionKey },
    ExpressionAttributeValues: { ':node': node },
  });
  return items.map((item) => item.endpoint as string);
}
