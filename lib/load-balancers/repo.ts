import { GetCommand } from '@aws-sdk/lib-dynamodb';
import resources from '../../infra/resources.cjs';
import { LoadBalancerItemSchema, type LoadBalancerItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { putIfVersion, queryPages } from '../dynamo';

type RepoDeps = Pick<Deps, 'ddb' | 'config'>;

export async function getLoadBalancer(deps: RepoDeps, endpoint: string): Promise<LoadBalancerItem | undefined> {
  const result = await deps.ddb.send(
    new GetCommand({ TableName: deps.config.tables.loadBalancers, Key: { endpoint }, ConsistentRead: true }),
  );
  return result.Item ? LoadBalancerItemSchema.parse(result.Item) : undefined;
}

/** Writes the whole record if it is still at `expectedVersion` (undefined: if it does not exist). */
export async function putLoadBalancerIfVersion(
  deps: RepoDeps,
  item: LoadBalancerItem,
  expectedVersion: number | undefined,
): Promise<'written' | 'conflict'> {
  return putIfVersion(deps.ddb, { name: deps.config.tables.loadBalancers, key: 'endpoint' }, item, expectedVersion);
}

/**
 * Active load balancers that heartbeated recently, newest first: by region when given, else the
 * whole fleet (load balancers number in the tens or hundreds, so one partition serves them).
 */
export async function queryActiveLoadBalancers(
  deps: RepoDeps,
  query: { region?: string; now: number; limit: number },
): Promise<LoadBalancerItem[]> {
  const index = query.region ? resources.LB_INDEXES.region : resources.LB_INDEXES.fleet;
  const items: LoadBalancerItem[] = [];
  const pages = queryPages(
    deps.ddb,
    {
      TableName: deps.config.tables.loadBalancers,
      IndexName: index.indexName,
      // lastHeartbeatAt bounds the range; freshUntil (which also covers heartbeat-less legacy
      // pods) and the status decide.
      KeyConditionExpression: '#pk = :pk',
      FilterExpression: '#status = :active AND #freshUntil > :now',
      ExpressionAttributeNames: { '#pk': index.partitionKey, '#status': 'status', '#freshUntil': 'freshUntil' },
      ExpressionAttributeValues: { ':pk': query.region ?? 'lb', ':active': 'active', ':now': query.now },
      ScanIndexForward: false,
    },
    { itemLimit: query.limit },
  );
  for await (const page of pages) items.push(...page.map((item) => LoadBalancerItemSchema.parse(item)));
  return items.slice(0, query.limit);
}
