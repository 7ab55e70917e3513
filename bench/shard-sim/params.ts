/** What one shard-sim run simulates (from the command line; see cli.ts for the defaults). */
export interface SimParams {
  /** Fleet size. */
  servers: number;
  /** Claims per second (Poisson arrivals). */
  rate: number;
  /** Simulated time, ms (the first warmupMs not counted). */
  simMs: number;
  warmupMs: number;
  sessionMs: number;
  heartbeatS: number;
  queryMs: number;
  writeMs: number;
  /** GSI propagation lag, ms. */
  lagMs: number;
  /** Shard counts to simulate. */
  shards: number[];
  seed: number;
  json?: string;
}
