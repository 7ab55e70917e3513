import type { NodeItem } from '../../schemas/items';
import type { NodeEvent } from '../pods/events';
import { ttlSeconds, type LivenessSettings } from '../pods/liveness';

/** The ordering facts of a node event (stored on the node's record for the one that set it). */
interface NodeOrderFacts {
  state: NodeEvent['event'];
  sentAt: number;
  seq: number;
  instanceId?: string;
  reason?: string;
  watcher?: string;
}

const STATE_RANK = { ready: 0, draining: 1 } as const;

/**
 * Total order of a node's events: sentAt, then seq (a watcher's events within one millisecond),
 * then draining before ready (a tie is settled on the safe side), then the remaining fields, so
 * that two different events never compare equal. The node's state is its greatest event: a
 * last-writer-wins register, the same for every order and duplication of delivery.
 */
export function compareNodeEvents(a: NodeOrderFacts, b: NodeOrderFacts): number {
  return (
    Math.sign(a.sentAt - b.sentAt) ||
    Math.sign(a.seq - b.seq) ||
    Math.sign(STATE_RANK[a.state] - STATE_RANK[b.state]) ||
    compareStrings(describe(a), describe(b))
  );
}

const describe = (facts: NodeOrderFacts) => JSON.stringify([facts.instanceId ?? '', facts.reason ?? '', facts.watcher ?? '']);
const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export type NodeDecision =
  /** The event is the node's newest: write `item`; sweep its servers when `sweep`. */
  | { kind: 'write'; item: NodeItem; sweep: boolean }
  /** The very event the record holds (a redelivery): nothing to write, but sweep again, since the
   *  first delivery may have failed half way through its sweep. */
  | { kind: 'current'; sweep: true }
  /** Older than the record's event: nothing to do. */
  | { kind: 'ignore' };

/**
 * Decides what a node event does to the node's record (pure). The newest event wins; servers
 * are swept when the state changes, and on every `draining` (watchers repeat it while the notice
 * lasts, so a server that registered while the drain was being applied is caught by the next
 * one). A repeated `ready` only refreshes the record.
 */
export function decideNodeWrite(stored: NodeItem | undefined, event: NodeEvent, now: number, settings: LivenessSettings): NodeDecision {
  const incoming: NodeOrderFacts = { ...event, state: event.event };
  if (stored) {
    const order = compareNodeEvents(incoming, stored);
    if (order < 0) return { kind: 'ignore' };
    if (order === 0) return { kind: 'current', sweep: true };
  }
  const item: NodeItem = {
    node: event.node,
    state: event.event,
    sentAt: event.sentAt,
    seq: event.seq,
    ...(event.instanceId !== undefined ? { instanceId: event.instanceId } : {}),
    ...(event.region !== undefined ? { region: event.region } : {}),
    ...(event.reason !== undefined ? { reason: event.reason } : {}),
    ...(event.watcher !== undefined ? { watcher: event.watcher } : {}),
    version: (stored?.version ?? 0) + 1,
    updatedAt: now,
    // Watchers repeat their state, which keeps the record; one of a node that is gone expires.
    expiresAt: ttlSeconds(Math.min(event.sentAt, now), settings),
  };
  const changed = (stored?.state ?? 'ready') !== item.state;
  return { kind: 'write', item, sweep: changed || item.state === 'draining' };
}

/** A missing record is a node nobody reported on: not drained. */
export function isDrained(node: NodeItem | undefined): boolean {
  return node?.state === 'draining';
}

/** What a node's record tells its servers: drained or not, and why (when its watcher said). */
export function drainCondition(node: NodeItem | undefined): { drained: boolean; reason?: string } {
  const drained = isDrained(node);
  return drained && node?.reason !== undefined ? { drained, reason: node.reason } : { drained };
}
