/** The "Overview" section: servers by status per region and group, and the last hour's chart. */

import { html } from 'htm/preact';
import { useMemo } from 'preact/hooks';
import { SampleChart } from './chart';
import { COUNT_COLUMNS, NO_GROUP_LABEL, overviewCounts, type StatusCounts } from './model';
import type { Sample } from './samples';
import type { Fleet } from './types';

const countCells = (counts: StatusCounts) => html`${COUNT_COLUMNS.map(
  (column) => html`<td class=${counts[column] === 0 ? 'num zero' : 'num'}>${counts[column].toLocaleString('en-US')}</td>`,
)}<td class="num total">${counts.total.toLocaleString('en-US')}</td>`;

function CountsTable({ fleet }: { fleet: Fleet }) {
  const overview = useMemo(() => overviewCounts(fleet.servers), [fleet]);
  return html`<div class="table-scroll">
    <table class="counts">
      <caption class="visually-hidden">Servers by status per region and group; stale servers are also counted under their status.</caption>
      <thead>
        <tr>
          <th scope="col">Region</th>
          <th scope="col">Group</th>
          ${COUNT_COLUMNS.map((column) => html`<th scope="col" class="num">${column}</th>`)}
          <th scope="col" class="num">total</th>
        </tr>
      </thead>
      <tbody>
        ${overview.rows.map(
          (row) => html`<tr key=${`${row.region}/${row.group ?? ''}`}>
            <th scope="row">${row.region}</th>
            <td class=${row.group === null ? 'muted' : ''}>${row.group ?? NO_GROUP_LABEL}</td>
            ${countCells(row.counts)}
          </tr>`,
        )}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row" colspan="2">All regions</th>
          ${countCells(overview.totals)}
        </tr>
      </tfoot>
    </table>
  </div>`;
}

export function OverviewSection({ fleet, samples }: { fleet: Fleet; samples: Sample[] }) {
  return html`<section id="overview" class="panel" aria-labelledby="overview-heading">
    <h2 id="overview-heading">Overview</h2>
    <div class="overview-body">
      <${CountsTable} fleet=${fleet} />
      <${SampleChart} samples=${samples} />
    </div>
  </section>`;
}
