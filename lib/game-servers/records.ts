import { BatchGetCommand, type BatchGetCommandOutput, GetCommand } from '@aws-sdk/lib-dynamodb';
import { GameServerItemSchema, type GameServerItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { putIfVersion } from '../dynamo';

type RepoDeps = Pick<Deps, 'ddb' | 'config'>;

/** A stored game-server record, checked against its schema. */
export const parseGameServerItem = (item: Record<string, unknown>): GameServerItem => GameServerItemSchema.parse(item);

export async function getGameServer(deps: RepoDeps, endpoint: string): Promise<GameServerItem | undefined> {
  const result = await deps.ddb.send(
    new GetCommand({ TableName: deps.config.tables.gameServers, Key: { endpoint }, ConsistentRead: true }),
  );
  return result.Item ? parseGameServerItem(result.Item) : undefined;
}

/** Reads several records (consistent) in one round trip per 100 keys; missing ones are absent. */
export async function getGameServers(deps: RepoDeps, endpoints: string[]): Promise<Map<string, GameServerItem>> {
  const found = new Map<string, GameServerItem>();
  for (let i = 0; i < endpoints.length; i += 100) {
    let keys: Record<string, unknown>[] | undefined = endpoints.slice(i, i + 100).map((endpoint) => ({ endpoint }));
    while (keys && keys.length > 0) {
      const result: BatchGetCommandOutput = await deps.ddb.send(
        new BatchGetCommand({ RequestItems: { [deps.config.tables.gameServers]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of result.Responses?.[deps.config.tables.gameServers] ?? []) found.set(item.endpoint, parseGameServerItem(item));
      keys = result.UnprocessedKeys?.[deps.config.tables.gameServers]?.Keys;
    }
  }
  return found;
}

/**
 * Writes the whole record if it is still at `expectedVersion` (undefined: if it does not exist).
 * Returns 'conflict' when someone else (another event, a claim) wrote it in between.
 */
export async function putGameServerIfVersion(
  deps: RepoDeps,
  item: GameServerItem,
  expectedVersion: number | undefined,
): Promise<'written' | 'conflict'> {
  return putIfVersion(deps.ddb, { name: deps.config.tables.gameServers, key: 'endpoint' }, item, expectedVersion);
}
