import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { round } from './stats';

/** Cores each process kept busy during a run (CPU seconds / wall seconds); Linux /proc only. */
export type CpuShare = Record<string, number>;

const TICKS_PER_SECOND = (() => {
  const probe = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const value = Number(probe.stdout?.trim());
  return Number.isFinite(value) && value > 0 ? value : 100;
})();

function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/**
 * Samples the CPU time of the benchmark process and of named child processes (DynamoDB Local,
 * local SQS, the HTTP server), so that every run can say who used the machine's cores.
 */
export class CpuProbe {
  private readonly processes = new Map<string, number>();

  watch(name: string, pid: number): void {
    this.processes.set(name, pid);
  }

  unwatch(name: string): void {
    this.processes.delete(name);
  }

  start(): () => CpuShare {
    const wall0 = performance.now();
    const self0 = process.cpuUsage();
    const before = new Map([...this.processes].map(([name, pid]) => [name, cpuSecondsOf(pid)]));
    return () => {
      const wall = (performance.now() - wall0) / 1000;
      const self = process.cpuUsage(self0);
      const share: CpuShare = { 'bench process': round((self.user + self.system) / 1e6 / wall) };
      for (const [name, pid] of this.processes) {
        const start = before.get(name);
        const end = cpuSecondsOf(pid);
        if (start !== undefined && end !== undefined) share[name] = round((end - start) / wall);
      }
      return share;
    };
  }
}
