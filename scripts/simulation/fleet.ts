// A fleet simulator for local demos: game servers on fake nodes reporting through the agent module,
// matchmakers claiming and releasing through the HTTP API, and Spot interruptions draining random
// nodes (a node-drain-watcher per node, against a fake instance metadata service).
import { randomUUID } from 'node:crypto';
import {
  GameServerAgent,
  InstanceMetadataClient,
  InventoryApiClient,
  NodeDrainWatcher,
  SqsEventSender,
  silentLogger,
  sleep,
  type EventSender,
  type SendResult,
} from '../../clients/lib';
import type { Deps } from '../../lib/deps';
import { getGameServers } from '../../lib/game-servers/records';
import { LOCAL_CREDENTIALS } from '../../lib/local-credentials';
import { startFakeImds } from '../local/fake-imds';

export interface SimulationOptions {
  apiUrl: string;
  queueUrl: string;
  sqsEndpoint?: string;
  /** Present when the simulator runs its own stack: statuses are then read straight from the table. */
  deps?: Deps;
  servers: number;
  nodes: number;
  matchmakers: number;
  durationMs: number;
  /** Spot interruptions over the run, at random times, on random nodes. */
  interruptions: number;
  /** Time from an interruption notice to the instance going away. */
  reclaimMs: number;
  /**
   * Keep the instance until its node has left the pool, for up to this long (default: reclaimMs,
   * as Spot does). Tests set it long, so that they check that the drain happens rather than how
   * fast the machine running them is.
   */
  drainDeadlineMs?: number;
  heartbeatMs: number;
  matchmakerKey?: string;
  readerKey?: string;
  /** Called with the progress line about twice a second. */
  onProgress?: (line: string) => void;
  random?: () => number;
}

export interface SimulationSummary {
  durationMs: number;
  serversStarted: number;
  serversTerminated: number;
  eventsSent: number;
  eventsFailed: number;
  claims: { ok: number; none: number; released: number; confirmed: number; errors: number };
  interruptedNodes: string[];
  /** Servers of an interrupted node still offered by GET /get-available-gs when the node went away (must be 0). */
  offeredWhileDraining: number;
  /** Per interrupted node: time from the notice until none of its servers was offered any more. */
  drainLatenciesMs: number[];
  statuses: Record<string, number>;
}

/** Counts what goes through a shared sender. */
class CountingSender implements EventSender {
  sent = 0;
  failed = 0;
  constructor(private readonly inner: EventSender) {}
  async send(message: { kind: string; event: string }, options?: Parameters<EventSender['send']>[1]): Promise<SendResult> {
    const result = await this.inner.send(message, options);
    if (result.ok) this.sent++;
    else this.failed++;
    return result;
  }
  close(): void {
    this.inner.close();
  }
}

interface SimServer {
  agent: GameServerAgent;
  endpoint: string;
  node: string;
}

export async function runSimulation(options: SimulationOptions): Promise<SimulationSummary> {
  const random = options.random ?? Math.random;
  const started = Date.now();
  const imds = await startFakeImds();
  const sender = new CountingSender(
    new SqsEventSender({
      queueUrl: options.queueUrl,
      ...(options.sqsEndpoint ? { endpoint: options.sqsEndpoint, credentials: LOCAL_CREDENTIALS } : {}),
      region: 'us-east-1',
      backoff: { baseMs: 50, maxMs: 1000 },
    }),
  );
  const mm = new InventoryApiClient({ baseUrl: options.apiUrl, apiKey: options.matchmakerKey ?? 'mm-local-key' });
  const reader = new InventoryApiClient({ baseUrl: options.apiUrl, apiKey: options.readerKey ?? 'ro-local-key' });
  const claims = { ok: 0, none: 0, released: 0, confirmed: 0, errors: 0 };
  const servers: SimServer[] = [];
  const watchers = new Map<string, NodeDrainWatcher>();
  const interruptedNodes: string[] = [];
  let serversStarted = 0;
  let serversTerminated = 0;
  let generation = 0;
  let running = true;
  let offeredWhileDraining = 0;
  const drainLatenciesMs: number[] = [];

  const startNode = async (node: string) => {
    const watcher = new NodeDrainWatcher({
      identity: { node, instanceId: `i-${node}`, watcher: `sim-watcher-${node}` },
      sender,
      imds: new InstanceMetadataClient({ baseUrl: imds.urlFor(node) }),
      pollIntervalMs: 200,
      announceIntervalMs: 10_000,
      logger: silentLogger,
    });
    watchers.set(node, watcher);
    await watcher.start();
  };
  const startServer = async (index: number, node: string) => {
    const endpoint = `10.200.${Math.floor(index / 250)}.${(index % 250) + 1}:${7000 + (generation % 1000)}`;
    const agent = new GameServerAgent({
      identity: { endpoint, region: 'us-west', group: 'sim', node, podUid: `sim-${index}-${generation}-${randomUUID().slice(0, 8)}`, labels: { map: 'dust' }, capacity: 10, lifecycle: 'spot' },
      sender,
      heartbeatIntervalMs: options.heartbeatMs,
      players: () => Math.floor(random() * 11),
    });
    servers[index] = { agent, endpoint, node };
    serversStarted++;
    await agent.start();
  };

  const nodeName = (k: number, round: number) => `sim-node-${k}${round > 0 ? `-r${round}` : ''}`;
  const nodeRounds = Array.from({ length: options.nodes }, () => 0);
  await Promise.all(Array.from({ length: options.nodes }, (_, k) => startNode(nodeName(k, 0))));
  await Promise.all(Array.from({ length: options.servers }, (_, i) => startServer(i, nodeName(i % options.nodes, 0))));

  // Matchmakers: claim one server, hold it for a short match (confirming most), release it.
  const matchmaker = async () => {
    while (running) {
      const claimId = `sim-match-${randomUUID()}`;
      const result = await mm.claim({ claimId, count: 1, region: 'us-west', group: 'sim', leaseSeconds: 30 });
      if (!result.ok) {
        if (result.code === 'gs.none_available') claims.none++;
        else claims.errors++;
        await sleep(200 + random() * 300);
        continue;
      }
      claims.ok++;
      if (random() < 0.8 && (await mm.confirm(claimId)).ok) claims.confirmed++;
      await sleep(300 + random() * 1500);
      if ((await mm.release(claimId)).ok) claims.released++;
    }
  };
  const matchmakers = Array.from({ length: options.matchmakers }, matchmaker);

  // Interruptions: a notice on a random live node; after reclaimMs its servers go and a fresh
  // node with fresh servers takes its place.
  const interruptions = Array.from({ length: options.interruptions }, async () => {
    await sleep(random() * options.durationMs * 0.6);
    const k = Math.floor(random() * options.nodes);
    const node = nodeName(k, nodeRounds[k]!);
    if (interruptedNodes.includes(node)) return;
    interruptedNodes.push(node);
    imds.interrupt(node, options.reclaimMs / 1000);
    const noticed = Date.now();
    // Until the instance goes away, watch how long the node's servers stay on offer.
    let offered = -1;
    const drainDeadlineMs = Math.max(options.drainDeadlineMs ?? options.reclaimMs, options.reclaimMs);
    while (offered !== 0 && Date.now() - noticed < drainDeadlineMs) {
      await sleep(200);
      const listed = await reader.listAvailable({ region: 'us-west', group: 'sim', limit: 100 });
      if (listed.ok) offered = listed.body.servers.filter((s) => s.node === node).length;
    }
    if (offered === 0) drainLatenciesMs.push(Date.now() - noticed);
    else offeredWhileDraining += Math.max(offered, 0);
    await sleep(Math.max(options.reclaimMs - (Date.now() - noticed), 0));
    const doomed = servers.map((server, index) => ({ server, index })).filter(({ server }) => server.node === node);
    await Promise.all(doomed.map(({ server }) => server.agent.terminate()));
    serversTerminated += doomed.length;
    watchers.get(node)?.stop();
    nodeRounds[k]! += 1;
    generation++;
    const replacement = nodeName(k, nodeRounds[k]!);
    await startNode(replacement);
    await Promise.all(doomed.map(({ index }) => startServer(index, replacement)));
  });

  const statusCounts = async (): Promise<Record<string, number>> => {
    const counts: Record<string, number> = {};
    if (options.deps) {
      const items = await getGameServers(options.deps, servers.map((s) => s.endpoint));
      for (const item of items.values()) counts[item.status] = (counts[item.status] ?? 0) + 1;
    } else {
      const results = await Promise.all(servers.map((s) => reader.getGameServer(s.endpoint)));
      for (const r of results) if (r.ok) counts[r.body.status] = (counts[r.body.status] ?? 0) + 1;
    }
    return counts;
  };
  const progress = async () => {
    const counts = await statusCounts().catch(() => ({}) as Record<string, number>);
    const seconds = ((Date.now() - started) / 1000).toFixed(0).padStart(3);
    const status = ['available', 'claimed', 'busy', 'draining', 'terminated'].map((s) => `${s} ${counts[s] ?? 0}`).join(' ');
    options.onProgress?.(
      `t=${seconds}s servers ${servers.length} [${status}] nodes drained ${interruptedNodes.length} | claims ${claims.ok} ok ${claims.none} none ${claims.released} released | events ${sender.sent} sent ${sender.failed} failed`,
    );
  };

  const deadline = started + options.durationMs;
  while (Date.now() < deadline) {
    await progress();
    await sleep(Math.min(500, deadline - Date.now()));
  }
  running = false;
  await Promise.all([...matchmakers, ...interruptions]);
  await progress();

  // Let the poller catch up with the last events before the final look.
  await sleep(Math.max(1000, options.heartbeatMs));
  const statuses = await statusCounts();

  for (const server of servers) await server.agent.terminate();
  for (const watcher of watchers.values()) watcher.stop();
  sender.close();
  await imds.stop();
  return {
    durationMs: Date.now() - started,
    serversStarted,
    serversTerminated,
    eventsSent: sender.sent,
    eventsFailed: sender.failed,
    claims,
    interruptedNodes,
    offeredWhileDraining,
    drainLatenciesMs,
    statuses,
  };
}
