/** The overview chart's history: one sample per successful refresh, kept for an hour (no DOM). */

import type { FleetServer } from './types';

export interface Sample {
  /** Epoch seconds when the page took the sample. */
  t: number;
  available: number;
  claimed: number;
  busy: number;
}

export const SAMPLE_WINDOW_SECONDS = 3600;
/** One sample a second for an hour, at most: a bound on memory and on sessionStorage size. */
export const MAX_SAMPLES = 3600;

export function takeSample(servers: readonly FleetServer[], nowMs: number): Sample {
  const sample: Sample = { t: Math.floor(nowMs / 1000), available: 0, claimed: 0, busy: 0 };
  for (const server of servers) {
    if (server.status === 'available' || server.status === 'claimed' || server.status === 'busy') sample[server.status] += 1;
  }
  return sample;
}

/** Samples of the last hour before `nowMs`, oldest first. */
export function recentSamples(samples: readonly Sample[], nowMs: number): Sample[] {
  const oldest = nowMs / 1000 - SAMPLE_WINDOW_SECONDS;
  const kept = samples.filter((sample) => sample.t >= oldest);
  return kept.length > MAX_SAMPLES ? kept.slice(kept.length - MAX_SAMPLES) : kept;
}

/** Adds a sample, keeping time order and the one-hour window. */
export function appendSample(samples: readonly Sample[], sample: Sample, nowMs: number): Sample[] {
  const later = samples.filter((existing) => existing.t < sample.t);
  return recentSamples([...later, sample], nowMs);
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0;

function isSample(value: unknown): value is Sample {
  if (typeof value !== 'object' || value === null) return false;
  const sample = value as Record<string, unknown>;
  return isCount(sample.t) && isCount(sample.available) && isCount(sample.claimed) && isCount(sample.busy);
}

/** Samples stored by an earlier page load; anything unreadable is dropped. */
export function parseStoredSamples(stored: string | null, nowMs: number): Sample[] {
  if (!stored) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const valid = parsed.filter(isSample).sort((a, b) => a.t - b.t);
  return recentSamples(valid, nowMs);
}

export function serializeSamples(samples: readonly Sample[]): string {
  return JSON.stringify(samples.map(({ t, available, claimed, busy }) => ({ t, available, claimed, busy })));
}

/** Columnar data for the chart: times, then available, claimed and busy. */
export function chartColumns(samples: readonly Sample[]): [number[], number[], number[], number[]] {
  return [samples.map((s) => s.t), samples.map((s) => s.available), samples.map((s) => s.claimed), samples.map((s) => s.busy)];
}
