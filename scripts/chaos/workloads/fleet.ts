import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EventSequence, gameServerMessage, generationUid } from '../../../clients/lib/events';
import type { LifecycleEventName } from '../../../schemas/messages';
import type { ChaosProfile } from '../profiles';
import { sleep } from '../../../lib/backoff';
import { type Rng } from '../../../testkit/rng';
import type { OutgoingMessage, StatusQueue } from '../status-queue';
import type { MessageReason } from '../types';

export type ServerRole = 'stable' | 'churn' | 'busy-target' | 'legacy-pool' | 'legacy-race';

/** Groups the claim clients use (region optional); set-gs-busy targets and legacy race servers have their own. */
export const CLAIM_POOLS = [
  { region: 'us-west', group: 'g1' },
  { region: 'us-west', group: 'g2' },
  { region: 'us-east', group: 'g1' },
  { region: 'us-east', group: 'g2' },
] as const;
export const LEGACY_REGION = 'us-west';
export const LEGACY_POOL_GROUP = 'lg';
export const BUSY_GROUP = 'bz';

/** A v1 pod: one run of a game server (a restart is a new pod on the same ip:port). */
export interface V1Pod {
  uid: string;
  sequence: EventSequence;
  /** Alive pods heartbeat; a terminated pod sends nothing more. */
  alive: boolean;
}

export interface V1Server {
  format: 'v1';
  role: Exclude<ServerRole, 'legacy-pool' | 'legacy-race'>;
  endpoint: string;
  node: string;
  region: string;
  group: string;
  pod: V1Pod;
  /** Bodies sent so far (any pod): late copies are drawn from here. */
  sent: string[];
  nextHeartbeatAt: number;
}

export interface LegacyServer {
  format: 'legacy';
  role: 'legacy-pool' | 'legacy-race';
  endpoint: string;
  group: string;
  /** The replaced sample's `init` body, sent unchanged. */
  initBody: string;
  terminatingBody: string;
}

export type FleetServer = V1Server | LegacyServer;

export class Fleet {
  constructor(readonly servers: FleetServer[]) {}

  get v1(): V1Server[] {
    return this.servers.filter((s): s is V1Server => s.format === 'v1');
  }

  get legacy(): LegacyServer[] {
    return this.servers.filter((s): s is LegacyServer => s.format === 'legacy');
  }

  byRole<R extends ServerRole>(role: R): Array<R extends LegacyServer['role'] ? LegacyServer : V1Server> {
    return this.servers.filter((s) => s.role === role) as Array<R extends LegacyServer['role'] ? LegacyServer : V1Server>;
  }
}

/**
 * The fleet of a run: v1 servers spread round-robin over the nodes and the four claim pools,
 * set-gs-busy targets in their own group, and legacy servers (the replaced sample's pods, keyed
 * private_ipv4:public_port, the node being their private_ipv4).
 */
export function buildFleet(profile: ChaosProfile): Fleet {
  const servers: FleetServer[] = [];
  let port = 7000;
  const v1 = (role: V1Server['role'], count: number, pool: (i: number) => { region: string; group: string }) => {
    for (let i = 0; i < count; i++) {
      const nodeIndex = servers.length % profile.nodes;
      const endpoint = `10.20.0.${nodeIndex + 1}:${++port}`;
      const { region, group } = pool(i);
      servers.push({
        format: 'v1',
        role,
        endpoint,
        node: `ip-10-20-0-${nodeIndex + 1}.chaos.internal`,
        region,
        group,
        pod: newPod(endpoint, 0),
        sent: [],
        nextHeartbeatAt: 0,
      });
    }
  };
  v1('stable', profile.fleet.stable, (i) => CLAIM_POOLS[i % CLAIM_POOLS.length]!);
  v1('churn', profile.fleet.churn, (i) => CLAIM_POOLS[i % CLAIM_POOLS.length]!);
  v1('busy-target', profile.fleet.busyTargets, () => ({ region: 'us-east', group: BUSY_GROUP }));

  const legacy = (role: LegacyServer['role'], count: number, group: (i: number) => string, offset: number) => {
    for (let i = 0; i < count; i++) {
      const host = offset + i + 1;
      const ip = `192.168.1.${host}`;
      const publicPort = String(40000 + host);
      const body = (status: 'init' | 'terminating') =>
        JSON.stringify({
          public_hostname: `ec2-192-168-1-${host}.compute.internal`,
          public_port: publicPort,
          region: LEGACY_REGION,
          status,
          type: 'gs',
          private_ipv4: ip,
          group: group(i),
        });
      servers.push({ format: 'legacy', role, endpoint: `${ip}:${publicPort}`, group: group(i), initBody: body('init'), terminatingBody: body('terminating') });
    }
  };
  legacy('legacy-pool', profile.fleet.legacyPool, () => LEGACY_POOL_GROUP, 0);
  legacy('legacy-race', profile.fleet.legacyRace, (i) => `lr${i}`, profile.fleet.legacyPool);
  return new Fleet(servers);
}

export function newPod(endpoint: string, startedAt: number): V1Pod {
  return { uid: generationUid(`chaos-${endpoint.replace(/[.:]/g, '-')}`, startedAt), sequence: new EventSequence(), alive: true };
}

/** The next event of the server's current pod, as its agent would send it (schema-validated). */
export function podEvent(server: V1Server, event: LifecycleEventName, players: number): string {
  const body = JSON.stringify(
    gameServerMessage(
      {
        endpoint: server.endpoint,
        publicEndpoint: `gs-${server.endpoint.replace(/[.:]/g, '-')}.chaos.example:${server.endpoint.split(':')[1]}`,
        region: server.region,
        node: server.node,
        group: server.group,
        podUid: server.pod.uid,
        lifecycle: 'spot',
        capacity: 16,
        labels: { map: 'dust' },
      },
      event,
      server.pod.sequence.next(),
      players,
    ),
  );
  server.sent.push(body);
  return body;
}

export interface QueueFaultRates {
  delay: number;
  duplicate: number;
  lateCopy: number;
}

/**
 * One v1 event plus its queue-side faults: sometimes delayed (DelaySeconds), sometimes sent twice
 * (the copy maybe delayed too), sometimes followed by a late copy of an earlier event of the same
 * endpoint (any of its pods).
 */
export function withQueueFaults(server: V1Server, body: string, reason: MessageReason, rng: Rng, rates: QueueFaultRates): OutgoingMessage[] {
  const out: OutgoingMessage[] = [];
  const message = (text: string, why: MessageReason, delaySeconds: number): OutgoingMessage => ({
    body: text,
    format: 'v1',
    endpoint: server.endpoint,
    reason: why,
    ...(delaySeconds > 0 ? { delaySeconds } : {}),
  });
  out.push(message(body, reason, rng.chance(rates.delay) ? rng.int(1, 3) : 0));
  if (rng.chance(rates.duplicate)) out.push(message(body, 'duplicate', rng.chance(0.5) ? rng.int(1, 2) : 0));
  if (server.sent.length > 2 && rng.chance(rates.lateCopy)) {
    out.push(message(rng.pick(server.sent.slice(0, -1)), 'late-copy', rng.chance(0.3) ? rng.int(1, 2) : 0));
  }
  return out;
}

/** Sends every server's first `ready` (legacy: `init`), without faults, and waits until all are recorded. */
export async function registerFleet(fleet: Fleet, queue: StatusQueue, ddb: DynamoDBDocumentClient, table: string, timeoutMs = 60_000): Promise<void> {
  const messages: OutgoingMessage[] = fleet.servers.map((server) =>
    server.format === 'v1'
      ? { body: podEvent(server, 'ready', 0), format: 'v1', endpoint: server.endpoint, reason: 'original' }
      : { body: server.initBody, format: 'legacy', endpoint: server.endpoint, reason: 'original' },
  );
  await queue.send(messages);
  const deadline = Date.now() + timeoutMs;
  const wanted = new Set(fleet.servers.map((s) => s.endpoint));
  for (;;) {
    const found = new Set<string>();
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await ddb.send(new ScanCommand({ TableName: table, ProjectionExpression: 'endpoint', ConsistentRead: true, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }));
      for (const item of page.Items ?? []) found.add(String(item.endpoint));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    if ([...wanted].every((endpoint) => found.has(endpoint))) return;
    if (Date.now() > deadline) throw new Error(`fleet registration: only ${found.size} of ${wanted.size} servers recorded after ${timeoutMs} ms`);
    await sleep(250);
  }
}
