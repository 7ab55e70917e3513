import { WCU_PER_INDEX_WRITE } from './capacity';
import type { SimParams } from './params';

// Writes on the availability indexes: per event, how many index writes each of the three
// availability GSIs (all / region / group; ALL projection) takes.
// - A change of availableAt (the GSI sort key) is a delete plus a put: 2 index writes.
// - Any other change of a record in the index (a heartbeat) is 1 index write (ALL projection).
// - Sparse index (proposal): busy servers carry no pool keys; becoming busy is a delete (1),
//   becoming available again a put (1), and a busy server's heartbeat touches no index.
export interface WriteLoad {
  layout: 'current' | 'sparse';
  /** Index writes per second on one availability GSI, whole pool. */
  indexWritesPerSec: number;
  byCause: Record<string, number>;
}
export function indexWriteLoad(p: SimParams, layout: 'current' | 'sparse', inIndexFraction: number): WriteLoad {
  const heartbeats = p.servers / p.heartbeatS;
  const byCause =
    layout === 'current'
      ? { claim: p.rate * 2, confirm: p.rate * 2, release: p.rate * 2, heartbeat: heartbeats }
      : { claim: p.rate * 2, confirm: p.rate * 1, release: p.rate * 1, heartbeat: heartbeats * inIndexFraction };
  for (const key of Object.keys(byCause) as Array<keyof typeof byCause>) byCause[key] *= WCU_PER_INDEX_WRITE;
  return { layout, indexWritesPerSec: Object.values(byCause).reduce((a, b) => a + b, 0), byCause };
}


export interface PollerLoad {
  /** Time per batch of 10: read + conditional put per event (events of a batch run in parallel) + overhead. */
  pollerBatchMs: number;
  /** Heartbeats dominate the poller's work. */
  eventsPerSec: number;
  pollerConcurrency: number;
}
/** Lambda concurrency the status-poller needs (Little's law: concurrency = rate x time per call). */
export function pollerLoad(p: SimParams): PollerLoad {
  const pollerBatchMs = 2 * p.queryMs + 5;
  const eventsPerSec = p.servers / p.heartbeatS;
  return { pollerBatchMs, eventsPerSec, pollerConcurrency: Math.ceil((eventsPerSec / 10) * (pollerBatchMs / 1000)) };
}
