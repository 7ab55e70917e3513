import type { GameServerItem, NodeItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { decideNodeConditionWrite, lifecycleSettings } from '../game-servers/lifecycle';
import { getGameServer, getGameServers, putGameServerIfVersion } from '../game-servers/records';
import { getNode, putNodeIfVersion, queryEndpointsOnNode } from '../nodes/repo';
import { decideNodeWrite, isDrained } from '../nodes/state';
import type { NodeEvent } from '../pods/events';
import { ContentionError, MAX_ATTEMPTS } from './optimistic-write';

/** Server records written at once by one sweep. */
const SWEEP_CONCURRENCY = 16;
/** Sweeps of one event, when newer node events keep arriving meanwhile. */
const MAX_SWEEPS = 5;

export interface SweepResult {
  /** Servers moved to draining (node drained) or back to their claim's status (un-drained). */
  changed: number;
  /** Servers that already agreed with the node, or whose pod is itself draining/terminated. */
  unchanged: number;
  /** Passes over the node's servers (more than one when a newer node event came in meanwhile). */
  sweeps: number;
}

export type NodeApplyOutcome =
  | { outcome: 'applied' | 'current'; state: NodeItem['state']; attempts: number; sweep?: SweepResult }
  | { outcome: 'ignored'; reason: 'older'; attempts: number };

/**
 * Applies a node event: first the node's record (the newest event wins, conditional on the
 * version read), then, when the state changed or is `draining`, every game server of the node,
 * found with a Query on the `by-node` index, each moved with the same optimistic lock as pod
 * events (see sweepNode). Durable when this resolves. Throws ContentionError after MAX_ATTEMPTS
 * lost races on one record.
 *
 * Why no server slips through, without transactions: both sides write first and read the other
 * side's record after. The drain writes the node record, then reads the node's servers; a game-
 * server event that creates a record (a new pod) writes it, then reads the node record again
 * (apply-game-server.ts). Whichever writes last sees the other's write and fixes the server. An
 * existing record needs no re-read: the sweep writes it, so a concurrent event's versioned write
 * fails and is decided again. On AWS the index can lag behind by a moment, which could hide a pod
 * registered just before the drain from it; watchers repeat `draining`, and each repetition sweeps.
 *
 * Not on writeOptimistically (yet): a lost node write is retried at once, without the backoff,
 * and a sweep's server write re-reads only the record it lost; moving them would change that.
 */
export async function applyNodeEvent(deps: Deps, event: NodeEvent): Promise<NodeApplyOutcome> {
  const settings = lifecycleSettings(deps.config);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const stored = await getNode(deps, event.node);
    const decision = decideNodeWrite(stored, event, deps.clock(), settings);
    if (decision.kind === 'ignore') return { outcome: 'ignored', reason: 'older', attempts: attempt };
    let record: NodeItem;
    if (decision.kind === 'write') {
      if ((await putNodeIfVersion(deps, decision.item, stored?.version)) === 'conflict') continue;
      record = decision.item;
    } else {
      record = stored!;
    }
    const outcome = decision.kind === 'write' ? 'applied' : 'current';
    if (!decision.sweep) return { outcome, state: record.state, attempts: attempt };
    const sweep = await sweepNode(deps, record);
    deps.logger.info('node swept', { node: record.node, state: record.state, ...sweep });
    return { outcome, state: record.state, attempts: attempt, sweep };
  }
  throw new ContentionError(`gave up on node ${event.node} after ${MAX_ATTEMPTS} conflicting writes`);
}

/**
 * Brings every server of the node in line with the node record: drained -> draining, un-drained
 * -> restored (see decideNodeConditionWrite). Idempotent: servers that agree are not written.
 * After a pass it reads the node record again: if a newer event was applied meanwhile, whose own
 * sweep may have looked at a server before this one wrote it, it passes again with that record.
 */
export async function sweepNode(deps: Deps, record: NodeItem): Promise<SweepResult> {
  const settings = lifecycleSettings(deps.config);
  const result: SweepResult = { changed: 0, unchanged: 0, sweeps: 0 };
  let node: NodeItem | undefined = record;

  const settle = async (name: string, drained: boolean, found: GameServerItem) => {
    let current: GameServerItem | undefined = found;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      // The index may be behind: a record that names another node now is not ours to change.
      if (!current || current.node !== name) return;
      const decision = decideNodeConditionWrite(current, { drained }, deps.clock(), settings);
      if (decision.kind === 'ignore') {
        result.unchanged++;
        return;
      }
      if ((await putGameServerIfVersion(deps, decision.item, current.version)) === 'written') {
        result.changed++;
        return;
      }
      current = await getGameServer(deps, current.endpoint);
    }
    throw new ContentionError(`gave up on ${found.endpoint} while sweeping node ${name}`);
  };

  while (result.sweeps < MAX_SWEEPS) {
    result.sweeps++;
    const name = record.node;
    const drained = isDrained(node);
    const endpoints = await queryEndpointsOnNode(deps, name);
    for (let i = 0; i < endpoints.length; i += 100) {
      const items = [...(await getGameServers(deps, endpoints.slice(i, i + 100))).values()];
      await forEachLimited(items, SWEEP_CONCURRENCY, (item) => settle(name, drained, item));
    }
    const latest = await getNode(deps, name);
    if (latest?.version === node?.version) return result;
    node = latest;
  }
  throw new ContentionError(`node ${record.node} kept changing while its servers were swept`);
}

async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
