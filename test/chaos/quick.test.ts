// The promises under injected faults: runs `scripts/chaos/run.ts --quick` once (its own DynamoDB
// Local, local SQS, fault proxy, API instances and poller process; about a minute on 2 cores)
// and asserts on its JSON result. Besides "no violation of any kind", it asserts that faults were
// injected and claims succeeded, so that a run in which nothing happened cannot pass.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChaosResult, SeedResult } from '../../scripts/chaos/chaos';
import { PROMISES, VIOLATION_KINDS } from '../../scripts/chaos/types';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const workDir = mkdtempSync(join(tmpdir(), 'gs-chaos-test-'));
const resultFile = join(workDir, 'chaos.json');
let child: ChildProcess | undefined;
let run: SeedResult;

beforeAll(async () => {
  const stderr: string[] = [];
  const exitCode = await new Promise<number | null>((done, fail) => {
    child = spawn(process.execPath, ['--import', 'tsx', 'scripts/chaos/run.ts', '--quick', '--json', resultFile], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    child.on('error', fail);
    child.on('exit', (code) => done(code));
  });
  // Exit 1 means violations: the JSON is there and the tests below say which.
  if (!existsSync(resultFile)) throw new Error(`chaos run failed (exit ${exitCode}):\n${stderr.join('').slice(-4000)}`);
  const result = JSON.parse(readFileSync(resultFile, 'utf8')) as ChaosResult;
  run = result.runs[0]!;
}, 240_000);

afterAll(() => {
  if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGTERM');
  rmSync(workDir, { recursive: true, force: true });
});

describe('chaos (quick): the promises hold under injected faults', () => {
  it.each(VIOLATION_KINDS.map((kind) => [PROMISES[kind], kind] as const))('%s', (_promise, kind) => {
    const { count, example } = run.violations[kind];
    expect(count, example?.message).toBe(0);
  });

  it('answers no request with 500', () => {
    expect(run.answers.byStatus['500'] ?? 0).toBe(0);
  });

  it('injected every kind of fault (so the run above was not a quiet one)', () => {
    for (const [kind, count] of Object.entries(run.faults.proxy.faults)) expect(count, `proxy fault ${kind}`).toBeGreaterThan(0);
    const queue = run.faults.queue;
    for (const kind of ['duplicates', 'delayed', 'lateCopies', 'legacyInitCopies', 'podRestarts', 'poison', 'pollerKills'] as const) {
      expect(queue[kind], `queue fault ${kind}`).toBeGreaterThan(0);
    }
  });

  it('claimed, confirmed and set servers busy successfully under those faults', () => {
    expect(run.claimsSucceeded).toBeGreaterThan(0);
    expect(run.answers.byOp.confirm?.['200'] ?? 0).toBeGreaterThan(0);
    expect(run.busySucceeded).toBeGreaterThan(0);
    expect(run.checked['proven holds']).toBeGreaterThan(0);
  });
});
