import type { GameServerItem, NodeItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { getGameServer, putGameServerIfVersion } from '../game-servers/records';
import { decideGameServerWrite, decideNodeConditionWrite, type LifecycleSettings } from '../game-servers/lifecycle';
import { getLoadBalancer, putLoadBalancerIfVersion } from '../load-balancers/repo';
import { decideLoadBalancerWrite } from '../load-balancers/lifecycle';
import { getNode } from '../nodes/repo';
import { isDrained } from '../nodes/state';
import type { LifecycleEvent } from './normalize';
import { decideOrdering } from './ordering';

/** Node records already read (e.g. for a whole batch): a record, or null for a node without one. */
export type NodeRecords = Map<string, NodeItem | null>;

export type ApplyOutcome =
  | { outcome: 'applied'; status: string; attempts: number }
  | { outcome: 'ignored'; reason: string; attempts: number };

/** Optimistic-lock retries before the event is handed back to the queue for a later attempt. */
const MAX_ATTEMPTS = 8;
/**
 * After a lost race, wait a random time up to this times 2^(attempt-1) before reading again:
 * writers that collided once would otherwise collide again in lock step (full jitter).
 */
const CONTENTION_BACKOFF_MS = 5;

const afterLostRace = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * CONTENTION_BACKOFF_MS * 2 ** (attempt - 1)));

export class ContentionError extends Error {
  override name = 'ContentionError';
}

/**
 * Applies one lifecycle event: read the endpoint's record, decide (pure), write it only if the
 * record is unchanged since the read. A concurrent writer (another event, a claim) makes the write
 * fail its condition; the event is then decided again against the new record. The result is
 * durable when this resolves. Throws ContentionError after MAX_ATTEMPTS lost races.
 *
 * A game server's decision also takes its node's record (from `nodes` when given, else read):
 * on a drained node it is draining. After creating a record (a new pod), the node record is read
 * again, since a drain applied at that moment may not have found the record (see
 * lib/nodes/drain.ts); an existing record needs no re-read, as the drain writes it (and so bumps
 * its version, failing this write).
 */
export async function applyLifecycleEvent(deps: Deps, event: LifecycleEvent, nodes: NodeRecords = new Map()): Promise<ApplyOutcome> {
  const { config } = deps;
  const settings = {
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    retentionMs: config.retentionMs,
    availabilityShards: config.availabilityShards,
  };
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    if (event.kind === 'game-server') {
      const stored = await getGameServer(deps, event.endpoint);
      const ordering = decideOrdering(stored, event);
      // The node the written record names: only a phase change keeps the stored description.
      const nodeName = ordering === 'escalate' ? stored!.node : event.node;
      let node = ordering === 'ignore' ? undefined : await readNode(deps, nodes, nodeName);
      if (stored && (ordering === 'advance' || ordering === 'escalate') && stored.phase === 'active' && (stored.nodeDraining === true) !== isDrained(node)) {
        // The record disagrees with our copy of the node record, which may be older than the
        // record (a sweep wrote it after the batch read the node): read the node record afresh.
        nodes.delete(nodeName);
        node = await readNode(deps, nodes, nodeName);
      }
      const decision = decideGameServerWrite(stored, event, deps.clock(), settings, { drained: isDrained(node) });
      if (decision.kind === 'ignore') return { outcome: 'ignored', reason: decision.reason, attempts: attempt };
      if ((await putGameServerIfVersion(deps, decision.item, stored?.version)) === 'written') {
        const status = ordering === 'replace' ? await recheckNode(deps, settings, nodes, decision.item, node?.version) : decision.item.status;
        return { outcome: 'applied', status, attempts: attempt };
      }
      nodes.delete(nodeName); // a node event may have been applied meanwhile: read it again
      await afterLostRace(attempt);
    } else {
      const stored = await getLoadBalancer(deps, event.endpoint);
      const decision = decideLoadBalancerWrite(stored, event, deps.clock(), settings);
      if (decision.kind === 'ignore') return { outcome: 'ignored', reason: decision.reason, attempts: attempt };
      if ((await putLoadBalancerIfVersion(deps, decision.item, stored?.version)) === 'written') {
        return { outcome: 'applied', status: decision.item.status, attempts: attempt };
      }
      await afterLostRace(attempt);
    }
  }
  throw new ContentionError(`gave up on ${event.kind} ${event.endpoint} after ${MAX_ATTEMPTS} conflicting writes`);
}

async function readNode(deps: Deps, nodes: NodeRecords, name: string): Promise<NodeItem | undefined> {
  if (!nodes.has(name)) nodes.set(name, (await getNode(deps, name)) ?? null);
  return nodes.get(name) ?? undefined;
}

/**
 * After creating a record: reads the node record again and, while it differs from the one the
 * record was decided with, brings the record in line (write, then read the other side's record:
 * see applyNodeEvent). Returns the record's status in the end.
 */
async function recheckNode(
  deps: Deps,
  settings: LifecycleSettings,
  nodes: NodeRecords,
  written: GameServerItem,
  usedVersion: number | undefined,
): Promise<string> {
  let item = written;
  let checkedAgainst = usedVersion;
  let lostRace = false;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const latest = await getNode(deps, item.node);
    nodes.set(item.node, latest ?? null);
    if (!lostRace && latest?.version === checkedAgainst) return item.status;
    checkedAgainst = latest?.version;
    lostRace = false;
    const current = await getGameServer(deps, item.endpoint);
    // Another pod took the endpoint over, or moved it: its own event takes care of it.
    if (!current || current.podUid !== item.podUid || current.node !== item.node) return current?.status ?? item.status;
    const fix = decideNodeConditionWrite(current, { drained: isDrained(latest) }, deps.clock(), settings);
    if (fix.kind === 'ignore') return current.status;
    // Written: read the node record once more (after this write); lost: look at both again.
    if ((await putGameServerIfVersion(deps, fix.item, current.version)) === 'written') item = fix.item;
    else lostRace = true;
  }
  throw new ContentionError(`gave up on ${written.endpoint} while checking node ${written.node}`);
}
