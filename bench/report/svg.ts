import type { RunRow } from '../lib/context';
import { FLOOR_TRANSACT, FLOOR_TWO_WRITES, FLOOR_UPDATE, type BenchResults } from './summary';

interface Series {
  name: string;
  color: string;
  dashed?: boolean;
  points: Array<{ c: number; y: number }>;
}

const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function seriesOf(name: string, color: string, rows: RunRow[], pick: (r: RunRow) => number, dashed = false): Series {
  return { name, color, dashed, points: rows.map((r) => ({ c: r.concurrency, y: pick(r) })).filter((p) => Number.isFinite(p.y) && p.y > 0) };
}

function niceMax(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

/**
 * One panel: concurrency on a categorical x axis, either a linear y axis from 0 or a log10 one.
 */
function panel(x0: number, y0: number, w: number, h: number, title: string, unit: string, series: Series[], concurrencies: number[], log: boolean): string {
  const parts: string[] = [];
  const values = series.flatMap((s) => s.points.map((p) => p.y));
  const maxY = values.length ? (log ? 10 ** Math.ceil(Math.log10(Math.max(...values))) : niceMax(Math.max(...values) * 1.05)) : 1;
  const minY = log ? 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...values)))) : 0;
  const yOf = (v: number) => (log ? y0 + h - ((Math.log10(v) - Math.log10(minY)) / (Math.log10(maxY) - Math.log10(minY))) * h : y0 + h - (v / maxY) * h);
  const xOf = (c: number) => x0 + ((concurrencies.indexOf(c) + 0.5) / concurrencies.length) * w;

  parts.push(`<text x="${x0 + w / 2}" y="${y0 - 12}" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`);
  const ticks: number[] = [];
  if (log) for (let t = minY; t <= maxY * 1.0001; t *= 10) ticks.push(t);
  else for (let i = 0; i <= 5; i++) ticks.push((maxY / 5) * i);
  for (const t of ticks) {
    const y = yOf(t).toFixed(1);
    parts.push(`<line x1="${x0}" y1="${y}" x2="${x0 + w}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${x0 - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${t >= 1 ? Math.round(t) : t}</text>`);
  }
  parts.push(`<line x1="${x0}" y1="${y0 + h}" x2="${x0 + w}" y2="${y0 + h}" stroke="#333"/>`);
  parts.push(`<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y0 + h}" stroke="#333"/>`);
  for (const c of concurrencies) parts.push(`<text x="${xOf(c)}" y="${y0 + h + 16}" text-anchor="middle" font-size="11">${c}</text>`);
  parts.push(`<text x="${x0 + w / 2}" y="${y0 + h + 34}" text-anchor="middle" font-size="12">concurrency</text>`);
  parts.push(`<text transform="translate(${x0 - 46},${y0 + h / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(unit)}</text>`);
  for (const s of series) {
    const pts = s.points.filter((p) => concurrencies.includes(p.c)).map((p) => `${xOf(p.c).toFixed(1)},${yOf(p.y).toFixed(1)}`);
    if (pts.length === 0) continue;
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${pts.join(' ')}"/>`);
    for (const p of pts) {
      const [cx, cy] = p.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="3.5" fill="${s.color}"/>`);
    }
  }
  return parts.join('\n');
}

/** A two-panel line chart (throughput, p99 latency vs concurrency), hand-written SVG. */
export function renderChart(r: BenchResults): string {
  const floorUpdate = r.floor.filter((x) => x.label === FLOOR_UPDATE);
  const floorTransact = r.floor.filter((x) => x.label === FLOOR_TRANSACT);
  const floorTwoWrites = r.floor.filter((x) => x.label === FLOOR_TWO_WRITES);
  const claimIn = r.claims.filter((x) => x.label === 'claim-gs' && x.via === 'in-process');
  const claimHttp = r.claims.filter((x) => x.label === 'claim-gs' && x.via === 'http');
  const claimOwn = r.claims.filter((x) => x.label === 'claim-gs' && x.via.includes('instance'));
  const busyIn = r.claims.filter((x) => x.label === 'set-gs-busy' && x.via === 'in-process');
  const distinct = (x: RunRow) => x.claims?.distinctPerSec ?? x.perSec;

  const throughput: Series[] = [
    seriesOf('floor: UpdateItem ops/s', '#7f7f7f', floorUpdate, (x) => x.perSec, true),
    seriesOf('floor: TransactWriteItems ops/s', '#bcbd22', floorTransact, (x) => x.perSec, true),
    seriesOf('floor: UpdateItem + PutItem pairs/s', '#8c564b', floorTwoWrites, (x) => x.perSec, true),
    seriesOf('claim-gs in-process', '#1f77b4', claimIn, distinct),
    seriesOf('claim-gs HTTP', '#17becf', claimHttp, distinct),
    seriesOf('claim-gs, 1 instance per claimer', '#9467bd', claimOwn, distinct),
    seriesOf('set-gs-busy in-process', '#2ca02c', busyIn, distinct),
    seriesOf('pairs (pairs/s)', '#ff7f0e', r.pairs, distinct),
    seriesOf('baseline: distinct servers/s', '#d62728', r.baseline, distinct),
  ];
  const latency: Series[] = [
    seriesOf('floor: UpdateItem', '#7f7f7f', floorUpdate, (x) => x.latency.p99, true),
    seriesOf('floor: TransactWriteItems', '#bcbd22', floorTransact, (x) => x.latency.p99, true),
    seriesOf('floor: UpdateItem + PutItem', '#8c564b', floorTwoWrites, (x) => x.latency.p99, true),
    seriesOf('claim-gs in-process', '#1f77b4', claimIn, (x) => x.latency.p99),
    seriesOf('claim-gs HTTP', '#17becf', claimHttp, (x) => x.latency.p99),
    seriesOf('claim-gs, 1 instance per claimer', '#9467bd', claimOwn, (x) => x.latency.p99),
    seriesOf('set-gs-busy in-process', '#2ca02c', busyIn, (x) => x.latency.p99),
    seriesOf('pairs', '#ff7f0e', r.pairs, (x) => x.latency.p99),
    seriesOf('baseline', '#d62728', r.baseline, (x) => x.latency.p99),
  ];
  const concurrencies = [...new Set([...r.floor, ...r.claims].map((x) => x.concurrency))].sort((a, b) => a - b);
  const W = 980;
  const H = 500;
  const legend = throughput
    .map((s, i) => {
      const x = 70 + (i % 3) * 300;
      const y = H - 62 + Math.floor(i / 3) * 18;
      return `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${s.color}" stroke-width="3"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/><text x="${x + 28}" y="${y}" dominant-baseline="middle" font-size="11">${esc(s.name)}</text>`;
    })
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">Claims on DynamoDB Local (${esc(r.machine.cpus + ' cores, ' + r.mode + ' run, ' + r.generatedAt.slice(0, 10))})</text>`,
    panel(80, 60, 380, 300, 'throughput', 'claims/s (floor: ops/s)', throughput, concurrencies, false),
    panel(580, 60, 380, 300, 'p99 latency (log scale)', 'ms', latency, concurrencies, true),
    legend,
    '</svg>',
    '',
  ].join('\n');
}
