import type { GameServerItem, NodeItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { decideNodeConditionWrite, lifecycleSettings, type NodeCondition } from '../game-servers/lifecycle';
import { getGameServer, getGameServers, putGameServerIfVersion } from '../game-servers/records';
import { getNode, putNodeIfVersion, queryEndpointsOnNode } from '../nodes/repo';
import { decideNodeWrite, drainCondition } from '../nodes/state';
import { forEachLimited } from '../concurrency';
import type { NodeEvent } from '../pods/events';
import { ContentionError, writeOptimistically } from './optimistic-write';

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
 */
export async function applyNodeEvent(deps: Deps, event: NodeEvent): Promise<NodeApplyOutcome> {
  const settings = lifecycleSettings(deps.config);
  let attempts = 0;
  const decided = await writeOptimistically<NodeItem | undefined, NodeStep>({
    subject: `node ${event.node}`,
    read: () => getNode(deps, event.node),
    decide: (stored, attempt) => {
      attempts = attempt;
      const decision = decideNodeWrite(stored, event, deps.clock(), settings);
      switch (decision.kind) {
        case 'ignore':
          return { kind: 'done', result: { outcome: 'ignored' } };
        case 'current':
          return { kind: 'done', result: { outcome: 'current', record: stored!, sweep: decision.sweep } };
        case 'write':
          return {
            kind: 'put',
            put: () => putNodeIfVersion(deps, decision.item, stored?.version),
            written: () => ({ outcome: 'applied', record: decision.item, sweep: decision.sweep }),
          };
      }
    },
  });
  if (decided.outcome === 'ignored') return { outcome: 'ignored', reason: 'older', attempts };
  const { outcome, record } = decided;
  if (!decided.sweep) return { outcome, state: record.state, attempts };
  const sweep = await sweepNode(deps, record);
  deps.logger.info('node swept', { node: record.node, state: record.state, ...sweep });
  return { outcome, state: record.state, attempts, sweep };
}

/** What the node record's write decided: nothing (an older event), or the record to sweep by. */
type NodeStep = { outcome: 'ignored' } | { outcome: 'applied' | 'current'; record: NodeItem; sweep: boolean };

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

  // One server, on the same optimistic lock as pod events: the record the batch read first, then
  // a fresh read after each lost race. The index may be behind: a record that names another node
  // now is not ours to change.
  const settle = async (name: string, condition: NodeCondition, found: GameServerItem) => {
    let read = 0;
    const settled = await writeOptimistically<GameServerItem | undefined, 'changed' | 'unchanged' | 'moved'>({
      subject: `${found.endpoint} while sweeping node ${name}`,
      read: async () => (read++ === 0 ? found : getGameServer(deps, found.endpoint)),
      decide: (current) => {
        if (!current || current.node !== name) return { kind: 'done', result: 'moved' };
        const decision = decideNodeConditionWrite(current, condition, deps.clock(), settings);
        if (decision.kind === 'ignore') return { kind: 'done', result: 'unchanged' };
        return { kind: 'put', put: () => putGameServerIfVersion(deps, decision.item, current.version), written: () => 'changed' };
      },
    });
    if (settled !== 'moved') result[settled]++;
  };

  while (result.sweeps < MAX_SWEEPS) {
    result.sweeps++;
    const name = record.node;
    const condition = drainCondition(node);
    const endpoints = await queryEndpointsOnNode(deps, name);
    for (let i = 0; i < endpoints.length; i += 100) {
      const items = [...(await getGameServers(deps, endpoints.slice(i, i + 100))).values()];
      await forEachLimited(items, SWEEP_CONCURRENCY, (item) => settle(name, condition, item));
    }
    const latest = await getNode(deps, name);
    if (latest?.version === node?.version) return result;
    node = latest;
  }
  throw new ContentionError(`node ${record.node} kept changing while its servers were swept`);
}
