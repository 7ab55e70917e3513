import type { FaultProfile, FaultProxy, InjectRule } from './fault-proxy';
import type { PollerSupervisor } from './poller-supervisor';
import { MAX_INJECTED_DELAY_MS } from './profiles';
import { sleep } from '../../lib/backoff';
import { type Rng } from '../../testkit/rng';

export const PHASES = ['latency', 'reset-before', 'reset-after', 'blackhole', 'outage', 'mix'] as const;
export type Phase = (typeof PHASES)[number];

/** Random faults per phase (per-request probabilities, drawn by the proxy from its seeded PRNG). */
export const PHASE_PROFILES: Record<Phase, FaultProfile> = {
  latency: { latency: { probability: 0.3, minMs: 50, maxMs: MAX_INJECTED_DELAY_MS } },
  'reset-before': { resetBefore: 0.1 },
  'reset-after': { resetAfter: 0.1 },
  blackhole: { blackhole: 0.04 },
  outage: {},
  mix: { resetBefore: 0.03, resetAfter: 0.04, blackhole: 0.01, latency: { probability: 0.1, minMs: 20, maxMs: MAX_INJECTED_DELAY_MS } },
};

export interface FaultLog {
  phases: Array<{ phase: Phase; start: number; end: number }>;
  outages: number;
  outageMs: number;
  /** Deterministic faults aimed at particular writes (mix phase). */
  injectedRules: number;
}

/**
 * Drives the proxy through the phases (shuffled per seed, `mix` last), each `phaseMs` long:
 * random faults from the phase's profile; the `outage` phase takes DynamoDB away for 0.5-2 s at a
 * time; `mix` adds one outage and a few deterministic faults aimed at the writes that matter most
 * (confirm/release transactions, claim records, claim writes delayed past the client's timeout,
 * the poller's record writes). Ends with all faults off.
 */
export async function runFaultPhases(proxy: FaultProxy, rng: Rng, options: { start: number; deadline: number; tables: { gameServers: string; claims: string } }): Promise<FaultLog> {
  const log: FaultLog = { phases: [], outages: 0, outageMs: 0, injectedRules: 0 };
  const order: Phase[] = [...rng.shuffle(PHASES.filter((p) => p !== 'mix')), 'mix'];
  const phaseMs = (options.deadline - options.start) / order.length;
  const outage = async (ms: number) => {
    log.outages++;
    log.outageMs += ms;
    proxy.startOutage();
    await sleep(ms);
    proxy.endOutage();
  };
  try {
    for (const [i, phase] of order.entries()) {
      const start = Date.now();
      const end = options.start + phaseMs * (i + 1);
      log.phases.push({ phase, start, end });
      proxy.setProfile(PHASE_PROFILES[phase]);
      if (phase === 'outage') {
        while (Date.now() < end - 700) {
          await sleep(rng.between(300, 1200));
          await outage(Math.min(rng.between(500, 2000), Math.max(0, end - Date.now())));
        }
      } else if (phase === 'mix') {
        const rules: InjectRule[] = [
          { match: (r) => r.op === 'TransactWriteItems', fault: 'reset-after', times: 3 },
          { match: (r) => r.op === 'PutItem' && r.body.includes(options.tables.claims), fault: 'reset-after', times: 2 },
          { match: (r) => r.op === 'UpdateItem' && r.body.includes(options.tables.gameServers), fault: { delayMs: MAX_INJECTED_DELAY_MS }, times: 4 },
          { match: (r) => r.op === 'PutItem' && r.body.includes(options.tables.gameServers), fault: 'reset-after', times: 3 },
          { match: (r) => r.op === 'GetItem', fault: 'blackhole', times: 2 },
        ];
        for (const rule of rules) proxy.inject(rule);
        log.injectedRules += rules.length;
        await sleep((end - Date.now()) / 2);
        await outage(rng.between(500, 1500));
      }
      await sleep(end - Date.now());
    }
  } finally {
    proxy.endOutage();
    proxy.setProfile({});
  }
  return log;
}

/** SIGKILLs the poller mid-batch `count` times, spread over the workload, and lets it restart. */
export async function runPollerKills(poller: PollerSupervisor, rng: Rng, options: { start: number; deadline: number; count: number }): Promise<void> {
  const span = options.deadline - options.start;
  for (let k = 1; k <= options.count; k++) {
    await sleep(options.start + (span * k) / (options.count + 1) + rng.between(-0.05, 0.05) * span - Date.now());
    if (Date.now() >= options.deadline) return;
    await poller.killMidBatch({ waitMs: 3000, afterMs: rng.between(0, 40), downMs: rng.between(200, 800) });
  }
}
