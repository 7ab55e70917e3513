// `npm run test:stress`: the whole test suite (`npm test`) with every core kept busy, because a test
// that passes only on an idle machine is a bug (see STYLE.md, Tests). Options:
//   --runs N        run the suite up to N times in a row, stopping at the first failure (default 1)
//   --hogs N        CPU hogs to run (default: os.availableParallelism(), one per core)
//   --command CMD   what to run instead of `npm test` (a shell command line), e.g. to try this script
// Each hog is a child process spinning in a busy loop, started before the first run and killed by
// PID after the last one, on SIGINT/SIGTERM, and if this script throws. Exit code 1 if a run failed.
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    hogs: { type: 'string', default: String(availableParallelism()) },
    command: { type: 'string', default: 'npm test' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write('usage: npm run test:stress -- [--runs N] [--hogs N] [--command "npx vitest run --project unit"]\n');
  process.exit(0);
}
const runs = integerOption(values.runs, '--runs', 1);
const hogCount = integerOption(values.hogs, '--hogs', 0);
const command = values.command;

function integerOption(value: string, name: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`${name} must be an integer >= ${min}, got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return n;
}

// Spins; every ~1e8 iterations checks that this script is still its parent, so a hog also ends if
// the script is killed with SIGKILL (which no handler here can see).
const HOG = 'const parent = process.ppid; for (let i = 1; ; i++) if (i % 1e8 === 0 && process.ppid !== parent) process.exit(0);';

const hogs: ChildProcess[] = [];
let suite: ChildProcess | undefined;

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Ends what this script started, by PID. Synchronous (it also runs on 'exit') and safe to repeat. */
function cleanUp(): void {
  // The suite runs in its own process group: this reaches npm, vitest, its workers and the
  // DynamoDB Local / SQS servers its global setup started.
  if (suite?.pid !== undefined && suite.exitCode === null && suite.signalCode === null) kill(-suite.pid, 'SIGTERM');
  for (const hog of hogs.splice(0)) if (hog.pid !== undefined) kill(hog.pid, 'SIGKILL');
}

process.on('exit', cleanUp);
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.on(signal, () => {
    process.stderr.write(`\ntest:stress: ${signal}, stopping the suite and the hogs\n`);
    cleanUp();
    process.exit(code);
  });
}

function runSuite(): Promise<boolean> {
  return new Promise((resolve, reject) => {
    // detached: its own process group, so cleanUp() can end the whole tree. Output goes straight through.
    const child = spawn(command, { shell: true, detached: true, stdio: ['ignore', 'inherit', 'inherit'] });
    suite = child;
    child.once('error', reject);
    child.once('exit', (code) => {
      suite = undefined;
      resolve(code === 0);
    });
  });
}

const results: Array<{ passed: boolean; seconds: number }> = [];
try {
  for (let i = 0; i < hogCount; i++) hogs.push(spawn(process.execPath, ['-e', HOG], { stdio: 'ignore' }));
  process.stdout.write(
    `test:stress: ${hogCount} CPU hogs on ${availableParallelism()} cores (pids ${hogs.map((h) => h.pid).join(' ') || '-'}); ` +
      `running \`${command}\` up to ${runs} time(s), stopping at the first failure\n`,
  );
  for (let run = 1; run <= runs; run++) {
    const startedAt = performance.now();
    const passed = await runSuite();
    results.push({ passed, seconds: (performance.now() - startedAt) / 1000 });
    if (!passed) break;
  }
} finally {
  cleanUp();
}

const failed = results.some((r) => !r.passed);
process.stdout.write(
  `\ntest:stress summary: \`${command}\` with ${hogCount} CPU hogs on ${availableParallelism()} cores\n` +
    results.map((r, i) => `  run ${i + 1}  ${r.passed ? 'passed' : 'FAILED'}  ${r.seconds.toFixed(1)} s\n`).join('') +
    (failed ? `stopped at the first failure (${results.length} of ${runs} runs)\n` : `all ${runs} run(s) passed\n`),
);
process.exitCode = failed ? 1 : 0;
