// `npm run chaos [-- --quick] [--seed N | --seeds a,b,c] [--out FILE] [--json FILE] [--dump DIR] [--log-level LEVEL]`
//
// The promises of DESIGN.md checked under injected faults (Jepsen-style): see scripts/chaos/chaos.ts.
// Prints a table on stdout (progress on stderr), writes bench/results/chaos-results.md for full
// runs (`--quick` writes a file only with `--out`), and exits non-zero on any violation or 500.
//   --quick          one short run (about a minute on 2 cores); seed 1 unless given
//   --seed N         one seed; --seeds 1,2,3 several (full default: 1,2,3)
//   --json FILE      the whole result as JSON (test/chaos/quick.test.ts reads it)
//   --dump DIR       each seed's full observation (history, messages, tables) as JSON, to debug a violation
import '../local/env-defaults';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runChaos } from './chaos';
import { renderMarkdown, renderText } from './report';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seed: { type: 'string' },
    seeds: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'string' },
    dump: { type: 'string' },
    'log-level': { type: 'string' },
  },
});

function seedList(): number[] {
  const text = values.seeds ?? values.seed ?? (values.quick ? '1' : '1,2,3');
  const seeds = text.split(',').map((s) => Number(s.trim()));
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new Error(`--seed/--seeds: non-negative integers, got ${text}`);
  return seeds;
}

const started = Date.now();
const log = (line: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);

// The cluster's child processes are stopped by PID in runChaosSeed's `finally`; an interrupt
// turns into an exception there by exiting through the normal path.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${signal}: stopping (again to force)`);
    // Child processes die with us: services.ts kills its children on exit, the poller on disconnect.
    process.exit(130);
  });
}

try {
  if (values.dump) mkdirSync(resolve(values.dump), { recursive: true });
  const result = await runChaos({
    profile: values.quick ? 'quick' : 'full',
    seeds: seedList(),
    log,
    ...(values['log-level'] ? { logLevel: values['log-level'] } : {}),
    ...(values.dump ? { dumpDir: resolve(values.dump) } : {}),
  });
  process.stdout.write(renderText(result));
  const out = values.out ? resolve(values.out) : values.quick ? undefined : join(ROOT, 'bench/results/chaos-results.md');
  if (out) {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, renderMarkdown(result));
    log(`wrote ${out}`);
  }
  if (values.json) writeFileSync(resolve(values.json), `${JSON.stringify(result, null, 1)}\n`);
  process.exitCode = result.ok ? 0 : 1;
} catch (error) {
  process.stderr.write(`chaos run failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 2;
}
// Exit explicitly once the report is out (stdout and stderr writes to files and pipes are
// synchronous here). Left to drain on its own, one full run's process finished its work, then
// spun a core in Node's exit-time handle cleanup (FreeEnvironment -> CleanupHandles, waiting for a
// request that never completed) and never exited.
process.exit(process.exitCode);
