// Sizes and timings of a chaos run. `quick` must finish in about a minute on a 2-core machine
// (npm test runs it); `full` runs for a few minutes per seed.

export interface ChaosProfile {
  name: 'quick' | 'full';
  /** API instances (each its own deps: own DynamoDB client, caches). */
  apiInstances: number;
  /** Nodes the game servers spread over. */
  nodes: number;
  fleet: {
    /** v1 servers that only heartbeat (with duplicates, delays, late copies). */
    stable: number;
    /** v1 servers that also drain, terminate or restart (a new pod on the same ip:port). */
    churn: number;
    /** v1 servers only the set-gs-busy racers use. */
    busyTargets: number;
    /** Legacy servers in the shared legacy pool. */
    legacyPool: number;
    /** Legacy servers, one per group, for the "init sent before the claim, delivered after" scenario. */
    legacyRace: number;
  };
  claimers: number;
  claimsPerClaimer: number;
  /** Pause between two claims of one claimer (uniform in [min, max] ms). */
  thinkMs: [number, number];
  racers: number;
  poison: number;
  /** Workload duration; split evenly over the fault phases. */
  workloadMs: number;
  /** Mean interval between two heartbeats of one v1 server. */
  heartbeatMs: number;
  /** Poller SIGKILLs (mid-batch) during the workload. */
  pollerKills: number;
  /**
   * Poller receive visibility timeout. A message reaches the DLQ after 5 failed receives, so 5x
   * this must outlast the longest fault phase (a valid event failing through an outage phase is
   * retried, not dead-lettered), and the poison messages (sent first) need that long to get there.
   */
  visibilitySeconds: number;
  /** Lambda's timeout for one poller batch: the poller process exits when a batch takes longer. */
  batchTimeoutMs: number;
  /** Client-side request timeout (then the client retries). */
  requestTimeoutMs: number;
  /** How long to wait for the queue to drain once the faults stop. */
  drainTimeoutMs: number;
}

export const PROFILES: Record<'quick' | 'full', ChaosProfile> = {
  quick: {
    name: 'quick',
    apiInstances: 3,
    nodes: 8,
    fleet: { stable: 16, churn: 6, busyTargets: 3, legacyPool: 4, legacyRace: 3 },
    claimers: 10,
    claimsPerClaimer: 10,
    thinkMs: [50, 400],
    racers: 2,
    poison: 4,
    workloadMs: 30_000,
    heartbeatMs: 6_000,
    pollerKills: 2,
    visibilitySeconds: 6,
    batchTimeoutMs: 5_000,
    requestTimeoutMs: 5_000,
    drainTimeoutMs: 25_000,
  },
  full: {
    name: 'full',
    apiInstances: 4,
    nodes: 10,
    fleet: { stable: 44, churn: 12, busyTargets: 6, legacyPool: 8, legacyRace: 6 },
    claimers: 48,
    claimsPerClaimer: 25,
    thinkMs: [300, 2_000],
    racers: 6,
    poison: 8,
    workloadMs: 120_000,
    heartbeatMs: 8_000,
    pollerKills: 6,
    visibilitySeconds: 20,
    batchTimeoutMs: 10_000,
    requestTimeoutMs: 8_000,
    drainTimeoutMs: 60_000,
  },
};

/** Lease of every claim in the run: short, so leases run out (and servers come back) during it. */
export const LEASE_SECONDS = 5;
/** Hold of confirmed claims that are kept: longer than any run. */
export const LONG_HOLD_SECONDS = 3600;
/** Longest injected latency: a delayed write may land this long after its sender gave up. */
export const MAX_INJECTED_DELAY_MS = 1_500;
