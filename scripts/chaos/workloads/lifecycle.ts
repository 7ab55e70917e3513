import { sleep } from '../../../lib/backoff';
import { type Rng } from '../../../testkit/rng';
import type { OutgoingMessage, StatusQueue } from '../status-queue';
import { newPod, podEvent, withQueueFaults, type Fleet, type QueueFaultRates, type V1Server } from './fleet';

export interface LifecycleOptions {
  fleet: Fleet;
  queue: StatusQueue;
  rng: Rng;
  start: number;
  deadline: number;
  heartbeatMs: number;
  rates: QueueFaultRates;
}

type ChurnAction = 'drain' | 'drain-terminate' | 'restart' | 'terminate-restart';

/**
 * Pod lifecycle traffic until the deadline: every live v1 pod heartbeats (with duplicates,
 * delays and late copies of earlier events, old pods' included), churn servers drain, terminate
 * or restart as a new pod on the same ip:port, and one legacy pool server terminates.
 * `finalHeartbeats()` then sends one last heartbeat per live pod, so that every pod's newest
 * event postdates every claim of the run.
 */
export function startLifecycle(options: LifecycleOptions): { done: Promise<void>; finalHeartbeats(): Promise<void>; actions: Record<string, number> } {
  const { fleet, queue, rng, start, deadline } = options;
  const actions: Record<string, number> = {};
  const span = deadline - start;
  const players = () => rng.int(0, 16);

  const heartbeats = (async () => {
    for (const server of fleet.v1) server.nextHeartbeatAt = start + rng.between(0, options.heartbeatMs);
    while (Date.now() < deadline) {
      const now = Date.now();
      const out: OutgoingMessage[] = [];
      for (const server of fleet.v1) {
        if (!server.pod.alive || server.nextHeartbeatAt > now) continue;
        server.nextHeartbeatAt = now + options.heartbeatMs * rng.between(0.6, 1.4);
        out.push(...withQueueFaults(server, podEvent(server, 'heartbeat', players()), 'original', rng, options.rates));
      }
      if (out.length) await queue.send(out);
      await sleep(250);
    }
  })();

  const churn = fleet.byRole('churn').map(async (server) => {
    const action = rng.pick<ChurnAction>(['drain', 'drain-terminate', 'restart', 'terminate-restart']);
    actions[action] = (actions[action] ?? 0) + 1;
    await sleep(start + span * rng.between(0.15, 0.75) - Date.now());
    const send = (body: string, reason: 'original' | 'restart') => queue.send(withQueueFaults(server, body, reason, rng, options.rates));
    switch (action) {
      case 'drain':
        await send(podEvent(server, 'draining', players()), 'original');
        break;
      case 'drain-terminate':
        await send(podEvent(server, 'draining', players()), 'original');
        await sleep(rng.between(1000, 3000));
        await terminate(server, send);
        break;
      case 'restart':
        await restart(server, send);
        break;
      case 'terminate-restart':
        await terminate(server, send);
        await sleep(rng.between(500, 2000));
        await restart(server, send);
        break;
    }
  });

  const legacyTermination = (async () => {
    const pool = fleet.byRole('legacy-pool');
    if (pool.length === 0) return;
    const server = rng.pick(pool);
    await sleep(start + span * 0.6 - Date.now());
    await queue.send([{ body: server.terminatingBody, format: 'legacy', endpoint: server.endpoint, reason: 'original' }]);
    actions['legacy-terminate'] = 1;
  })();

  return {
    done: Promise.all([heartbeats, ...churn, legacyTermination]).then(() => undefined),
    actions,
    async finalHeartbeats() {
      const out: OutgoingMessage[] = fleet.v1
        .filter((server) => server.pod.alive)
        .map((server) => ({ body: podEvent(server, 'heartbeat', players()), format: 'v1', endpoint: server.endpoint, reason: 'original' }));
      await queue.send(out);
    },
  };
}

async function terminate(server: V1Server, send: (body: string, reason: 'original') => Promise<unknown>): Promise<void> {
  await send(podEvent(server, 'terminating', 0), 'original');
  server.pod.alive = false;
}

/** A genuinely new pod on the same ip:port: the old one stops, the new one says ready. */
async function restart(server: V1Server, send: (body: string, reason: 'restart') => Promise<unknown>): Promise<void> {
  server.pod.alive = false;
  server.pod = newPod(server.endpoint, Date.now());
  await send(podEvent(server, 'ready', 0), 'restart');
}
