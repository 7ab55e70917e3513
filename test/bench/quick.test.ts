import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResults } from '../../bench/report/summary';

/**
 * Runs `bench/run.ts --quick` (its own DynamoDB Local and local SQS, stopped by PID) as a child
 * process and checks what it found. Timings are only reported, never asserted: CI machines vary.
 */
let child: ChildProcess | undefined;
let results: BenchResults;
let exitCode: number | null = null;
let stderr = '';
const out = mkdtempSync(join(tmpdir(), 'bench-quick-'));

beforeAll(async () => {
  child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: process.env,
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  exitCode = await new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
  child = undefined;
  results = JSON.parse(readFileSync(join(out, 'bench-results.json'), 'utf8')) as BenchResults;
  // A hang guard, not a speed target: on a shared 2-core machine with every core busy the quick
  // run takes several minutes.
}, 900_000);

afterAll(() => {
  if (child?.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
  rmSync(out, { recursive: true, force: true });
});

describe('npm run bench -- --quick', () => {
  it('finishes, writes its results (JSON, markdown, SVG chart) and exits 0', () => {
    expect(exitCode, stderr).toBe(0);
    expect(readFileSync(join(out, 'bench-results.md'), 'utf8')).toContain('## Claims');
    expect(readFileSync(join(out, 'bench-chart.svg'), 'utf8')).toMatch(/^<svg /);
    expect(results.mode).toBe('quick');
  });

  it('gives no server to two callers in any of our claim paths, and the tables (servers and claim records) agree with every win', () => {
    expect(results.correctness.ourDoubleClaims).toBe(0);
    expect(results.correctness.ourTableDisagreements).toBe(0);
    expect(results.correctness.ourRecordDisagreements).toBe(0);
    expect(results.correctness.ourSameNodePairs).toBe(0);
    const failedRuns = [...results.claims, ...results.pairs, ...results.instances, ...results.listing, ...results.ingestion, ...results.notifications].filter((run) => run.errors > 0);
    expect(results.correctness.ourErrors, failedRuns.map((run) => `${run.label} ${run.via} c=${run.concurrency}: ${run.errors} errors, first: ${run.firstError}`).join('\n')).toBe(0);
    const claimRuns = [...results.claims, ...results.pairs, ...results.instances];
    expect(claimRuns.length).toBeGreaterThan(0);
    for (const run of claimRuns) expect(run.claims?.doubleClaims, `${run.label} ${run.via} c=${run.concurrency}`).toBe(0);
  });

  it('claims at Lambda concurrency: every row (count 1, pairs, the small pool cycling claim -> release) has no double claim, no disagreement and measured refusals', () => {
    const rows = results.lambdaConcurrency;
    expect(rows.map((row) => row.case)).toEqual(expect.arrayContaining(['count 1', 'pairs (count 2, distinct nodes)', 'small pool, claim → release']));
    for (const row of rows) {
      const name = `${row.case} c=${row.concurrency}`;
      expect(row.doubleClaims, name).toBe(0);
      expect(row.otherViolations, name).toBe(0);
      expect(row.errors, name).toBe(0);
      expect(row.met.doubleClaims, name).toBe(true);
      expect(row.floorPerSec, name).toBeGreaterThan(0);
      expect(Number.isFinite(row.refusedClaimWritesPerClaim), name).toBe(true);
    }
    const small = results.instances.find((run) => run.claims?.cycle);
    expect(small?.claims?.cycle?.releases).toBe(small?.ok);
    expect(small?.claims?.cycle?.releaseMismatches).toBe(0);
    expect(small?.claims?.cycle?.releaseRequestsPerCycle).toBeGreaterThan(0);
  });

  it('notifications: every claim -> confirm -> release cycle tells its server gs.claimed, gs.busy, gs.released and gs.available, none lost, none out of order', () => {
    expect(results.notifications.length).toBeGreaterThan(0);
    for (const run of results.notifications) {
      const name = `notifications c=${run.concurrency}`;
      const n = run.notifications!;
      expect(n, name).toBeDefined();
      expect(n.cycles, name).toBeGreaterThan(0);
      expect(n.expected, name).toBe(4 * n.cycles);
      expect(n.received, name).toBe(n.expected);
      expect(n.lost, name).toBe(0);
      expect(n.outOfOrder, name).toBe(0);
      expect(n.unexpected, name).toBe(0);
      expect(n.discardedRecords, name).toBe(0);
      expect(n.deadLettered, name).toBe(0);
      expect(Number.isInteger(n.duplicates), name).toBe(true);
      for (const type of ['gs.claimed', 'gs.busy', 'gs.released', 'gs.available']) expect(n.latencyByType[type]?.count, `${name} ${type}`).toBe(n.cycles);
      expect(run.errors, `${name}: ${run.firstError}`).toBe(0);
    }
    const c = results.correctness;
    expect(c.notificationsReceived).toBe(c.notificationsExpected);
    expect(c.notificationsLost).toBe(0);
    expect(c.notificationsOutOfOrder).toBe(0);
    expect(c.notificationsUnexpected).toBe(0);
    // The figures to quote are there (their values depend on the machine and are not asserted).
    expect(results.notificationLatency.map((row) => row.concurrency)).toEqual(results.notifications.map((run) => run.concurrency));
    for (const row of results.notificationLatency) {
      expect(Number.isFinite(row.p50Ms) && Number.isFinite(row.p99Ms), `c=${row.concurrency}`).toBe(true);
      expect(row.received).toBe(row.expected);
    }
    expect(readFileSync(join(out, 'bench-results.md'), 'utf8')).toContain('## Notifications');
  });

  it('reports the baseline\'s double claims (counted, not asserted: the replaced strategy has them)', () => {
    expect(Number.isInteger(results.correctness.baselineDoubleClaims)).toBe(true);
    expect(results.baseline.every((run) => run.claims !== undefined)).toBe(true);
  });

  it('produces numbers for every scenario', () => {
    expect(results.correctness.scenariosWithNumbers).toEqual({
      floor: true,
      claims: true,
      baseline: true,
      pairs: true,
      instances: true,
      listing: true,
      ingestion: true,
      notifications: true,
      dashboard: true,
    });
    for (const row of [...results.floor, ...results.claims, ...results.listing, ...results.ingestion, ...results.notifications]) {
      expect(row.perSec, `${row.label} ${row.via} c=${row.concurrency}`).toBeGreaterThan(0);
      expect(Number.isFinite(row.latency.p99)).toBe(true);
    }
    expect(results.ratios.length).toBeGreaterThan(0);
    expect(results.targets.length).toBeGreaterThan(0);
  });

  it('shows the whole fleet in the dashboard: every server loaded comes back from GET /fleet, and the page reports no error', () => {
    const [row] = results.dashboard;
    expect(results.dashboard).toHaveLength(1);
    expect(row!.fleetRoute.serversReturned).toBe(row!.servers);
    expect(row!.claimErrors).toBe(0);
    expect(row!.page.pageErrors).toEqual([]);
    expect(row!.page.domElements).toBeGreaterThan(row!.servers);
    expect(Number.isFinite(row!.page.gridCompleteMs)).toBe(true);
  });
});
