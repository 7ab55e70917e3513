/** The last hour of available / claimed / busy counts as a uPlot line chart. */

import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { formatClock } from './format';
import { chartColumns, type Sample } from './samples';

const CHART_HEIGHT = 220;

/** Colours paired with distinct dash patterns, so the lines differ without colour too. */
const SERIES: uPlot.Series[] = [
  {},
  { label: 'Available', stroke: '#1b7a3a', width: 2 },
  { label: 'Claimed', stroke: '#9a6b00', width: 2, dash: [8, 4] },
  { label: 'Busy', stroke: '#1d4ed8', width: 2, dash: [2, 3] },
];

function chartOptions(width: number): uPlot.Options {
  return {
    width,
    height: CHART_HEIGHT,
    series: SERIES,
    scales: { y: { range: (_plot, _min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] } },
    axes: [{ stroke: '#333' }, { stroke: '#333', size: 56 }],
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
  };
}

export function chartLabel(samples: readonly Sample[]): string {
  const latest = samples.at(-1);
  if (!latest) return 'Servers over the last hour: no samples yet.';
  return (
    `Servers over the last hour (${samples.length} samples). Latest at ${formatClock(latest.t * 1000)}: ` +
    `${latest.available} available, ${latest.claimed} claimed, ${latest.busy} busy.`
  );
}

export function SampleChart({ samples }: { samples: Sample[] }) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const chart = new uPlot(chartOptions(Math.max(200, element.clientWidth)), chartColumns(samples), element);
    plot.current = chart;
    const resizeObserver = new ResizeObserver(() => {
      const width = Math.max(200, element.clientWidth);
      if (width !== chart.width) chart.setSize({ width, height: CHART_HEIGHT });
    });
    resizeObserver.observe(element);
    return () => {
      resizeObserver.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(chartColumns(samples));
  }, [samples]);

  return html`<figure class="chart-figure">
    <div class="chart" ref=${container} role="img" aria-label=${chartLabel(samples)}></div>
    <figcaption>Available (solid), claimed (dashed) and busy (dotted) servers, sampled at each refresh over the last hour.</figcaption>
  </figure>`;
}
