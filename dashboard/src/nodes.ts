/** The "Nodes" section: filters, legend, the grid of node cards with one cell per server, and the detail panel. */

import { Component, html } from 'htm/preact';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { DetailPanel } from './detail';
import { plural } from './format';
import { CELL_SELECTOR, cellForKey, findCell } from './grid-navigation';
import {
  COUNT_COLUMNS,
  NO_FILTER,
  STATUS_LETTER,
  filterOptions,
  indexByEndpoint,
  isFiltering,
  serverLabel,
  serverMatchesFilter,
  statusLetter,
  summarizeNodes,
  visibleNodes,
  type NodeFilter,
  type VisibleNode,
} from './model';
import { SERVER_STATUSES, type Fleet, type FleetServer } from './types';

function cellClass(server: FleetServer, selected: boolean): string {
  let name = `cell s-${server.status}`;
  if (server.stale === true) name += ' stale';
  if (selected) name += ' selected';
  return name;
}

interface NodeCardProps {
  view: VisibleNode;
  /** The grid's one tabbable cell, when it is in this card. */
  tabbableEndpoint: string | null;
  /** The cell whose details are open, when it is in this card. */
  selectedEndpoint: string | null;
  filtering: boolean;
}

/**
 * One node. It re-renders only when its signature (everything it shows) or its tabbable/selected
 * cell changes, so a refresh touches only the nodes that changed.
 */
class NodeCard extends Component<NodeCardProps> {
  override shouldComponentUpdate(next: NodeCardProps): boolean {
    const current = this.props;
    return (
      next.view.signature !== current.view.signature ||
      next.tabbableEndpoint !== current.tabbableEndpoint ||
      next.selectedEndpoint !== current.selectedEndpoint ||
      next.filtering !== current.filtering
    );
  }

  override render() {
    const { view, tabbableEndpoint, selectedEndpoint, filtering } = this.props;
    const { node, cells } = view;
    const count = filtering && cells.length !== node.servers.length ? `${cells.length} of ${plural(node.servers.length, 'server')}` : plural(node.servers.length, 'server');
    let cardClass = 'node-card';
    if (node.drained) cardClass += ' drained';
    else if (node.needsAttention) cardClass += ' attention';
    return html`<div class=${cardClass} data-node=${node.name} data-drained=${node.drained ? 'true' : 'false'} role="group" aria-label=${`Node ${node.name}, ${node.region}, ${count}${node.drained ? `, drained: ${node.drainedReason}` : ''}`}>
      <div class="node-head">
        <span class="node-name">${node.name}</span>
        <span class="node-meta">${node.region} · ${count}</span>
        ${node.spot ? html`<span class="tag spot">spot</span>` : null}
      </div>
      ${node.drained || node.spotInterruption
        ? html`<div class="node-badges">
            ${node.drained ? html`<span class="badge drained-badge">Drained: ${node.drainedReason}</span>` : null}
            ${node.spotInterruption ? html`<span class="badge spot-badge">Spot interruption</span>` : null}
          </div>`
        : null}
      <div class="cells">
        ${cells.map((server) => {
          const label = serverLabel(server);
          return html`<button
            key=${server.endpoint}
            type="button"
            class=${cellClass(server, server.endpoint === selectedEndpoint)}
            data-endpoint=${server.endpoint}
            data-status=${server.status}
            tabindex=${server.endpoint === tabbableEndpoint ? 0 : -1}
            aria-label=${label}
            title=${label}
          >${statusLetter(server.status)}</button>`;
        })}
      </div>
    </div>`;
  }
}

const LEGEND = [
  ...SERVER_STATUSES.map((status) => ({ className: `cell s-${status}`, letter: STATUS_LETTER[status], text: status })),
  { className: 'cell s-busy stale', letter: STATUS_LETTER.busy, text: 'stale: dashed outline and corner mark (here: busy, stale)' },
];

function Legend() {
  return html`<ul class="legend" aria-label="Legend">
    ${LEGEND.map(
      (item) => html`<li><span class=${item.className} aria-hidden="true">${item.letter}</span> ${item.text}</li>`,
    )}
    <li><span class="legend-card drained" aria-hidden="true"></span> drained node</li>
    <li><span class="badge spot-badge">Spot interruption</span></li>
    <li><span class="tag spot">spot</span> spot node</li>
  </ul>`;
}

interface FiltersProps {
  filter: NodeFilter;
  regions: string[];
  groups: string[];
  onChange: (filter: NodeFilter) => void;
}

function Filters({ filter, regions, groups, onChange }: FiltersProps) {
  const select = (name: 'region' | 'group' | 'status', label: string, values: readonly string[]) =>
    html`<label class="filter">
      <span>${label}</span>
      <select
        value=${filter[name]}
        onChange=${(event: Event) => onChange({ ...filter, [name]: (event.currentTarget as HTMLSelectElement).value })}
      >
        <option value="">All</option>
        ${values.map((value) => html`<option value=${value}>${value}</option>`)}
      </select>
    </label>`;
  return html`<div class="filters" role="group" aria-label="Filter nodes">
    ${select('region', 'Region', regions)} ${select('group', 'Group', groups)} ${select('status', 'Status', COUNT_COLUMNS)}
    <label class="filter checkbox">
      <input
        type="checkbox"
        checked=${filter.attentionOnly}
        onChange=${(event: Event) => onChange({ ...filter, attentionOnly: (event.currentTarget as HTMLInputElement).checked })}
      />
      <span>Only nodes needing attention</span>
    </label>
  </div>`;
}

/**
 * Cards far off screen are not rendered (content-visibility: auto) and a cell inside one can refuse
 * focus; rendering its card first makes the focus move stick.
 */
function focusCell(cell: HTMLElement): void {
  const card = cell.closest<HTMLElement>('[data-node]');
  if (card) card.style.contentVisibility = 'visible';
  cell.focus();
  cell.scrollIntoView({ block: 'nearest', inline: 'nearest' });
}

function focusedCellEndpoint(grid: HTMLElement | null): string | null {
  const focused = document.activeElement;
  if (!grid || !(focused instanceof HTMLElement) || !grid.contains(focused)) return null;
  return focused.dataset.endpoint ?? null;
}

/** The tabbable cell: the last one the user was on while it is still shown, else the first shown. */
function tabbableCell(
  preferred: string | null,
  views: readonly VisibleNode[],
  byEndpoint: ReadonlyMap<string, FleetServer>,
  filter: NodeFilter,
  shownNodes: ReadonlySet<string>,
): string | null {
  const server = preferred === null ? undefined : byEndpoint.get(preferred);
  if (server && shownNodes.has(server.node) && serverMatchesFilter(server, filter)) return server.endpoint;
  return views[0]?.cells[0]?.endpoint ?? null;
}

/**
 * Node cards drawn in the first pass and added per later pass: a thousand cards drawn in one go
 * hold the main thread for most of a second; in passes of a few hundred, each a task of its own,
 * the page answers input in between. The first pass fills a wall screen.
 */
const FIRST_PASS_NODES = 120;
const NEXT_PASS_NODES = 200;

/** Marks (once per page) when every node card of the fleet has been drawn. */
function markGridComplete(): void {
  if (performance.getEntriesByName('dashboard:grid-complete').length > 0) return;
  performance.measure('dashboard:grid-complete', { start: 0, end: performance.now() });
}

export function NodesSection({ fleet }: { fleet: Fleet }) {
  const [filter, setFilter] = useState<NodeFilter>(NO_FILTER);
  const [drawnNodes, setDrawnNodes] = useState(FIRST_PASS_NODES);
  const [activeEndpoint, setActiveEndpoint] = useState<string | null>(null);
  const [selectedEndpoint, setSelectedEndpoint] = useState<string | null>(null);
  const grid = useRef<HTMLDivElement>(null);

  const nodes = useMemo(() => summarizeNodes(fleet.servers), [fleet]);
  const byEndpoint = useMemo(() => indexByEndpoint(fleet.servers), [fleet]);
  const options = useMemo(() => filterOptions(fleet.servers), [fleet]);
  const views = useMemo(() => visibleNodes(nodes, filter), [nodes, filter]);
  const shownNodes = useMemo(() => new Set(views.map((view) => view.node.name)), [views]);

  const tabbable = tabbableCell(activeEndpoint, views, byEndpoint, filter, shownNodes);
  const tabbableNode = tabbable === null ? null : (byEndpoint.get(tabbable)?.node ?? null);
  const selectedNode = selectedEndpoint === null ? null : (byEndpoint.get(selectedEndpoint)?.node ?? null);
  const filtering = isFiltering(filter);
  const shownServers = views.reduce((sum, view) => sum + view.cells.length, 0);
  const allDrawn = drawnNodes >= views.length;

  // Cards not drawn yet follow in later passes (new nodes of a refresh too); the grid is complete
  // once every card of the current fleet is drawn.
  useEffect(() => {
    if (allDrawn) {
      markGridComplete();
      return;
    }
    const timer = setTimeout(() => setDrawnNodes((drawn) => drawn + NEXT_PASS_NODES), 0);
    return () => clearTimeout(timer);
  }, [allDrawn, drawnNodes]);

  // Re-ordering node cards on a refresh moves DOM nodes, which drops focus from a moved cell: note
  // which cell had focus before this render and give it back afterwards.
  const focusedBeforeRender = focusedCellEndpoint(grid.current);
  useLayoutEffect(() => {
    if (focusedBeforeRender === null || !grid.current) return;
    if (focusedCellEndpoint(grid.current) === focusedBeforeRender) return;
    const cell = findCell(grid.current, focusedBeforeRender);
    if (cell && (document.activeElement === null || document.activeElement === document.body)) cell.focus();
  });

  /** Read by the stable close handler: the cell to give focus back to. */
  const selectedRef = useRef<string | null>(null);
  selectedRef.current = selectedEndpoint;

  const closeDetail = useCallback(() => {
    const endpoint = selectedRef.current;
    setSelectedEndpoint(null);
    if (endpoint === null) return;
    setActiveEndpoint(endpoint);
    const cell = grid.current ? findCell(grid.current, endpoint) : null;
    if (cell) focusCell(cell);
  }, []);

  useEffect(() => {
    if (selectedEndpoint === null) return;
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        closeDetail();
      }
    };
    document.addEventListener('keydown', onKeyDown);
    return () => document.removeEventListener('keydown', onKeyDown);
  }, [selectedEndpoint, closeDetail]);

  const onGridClick = useCallback((event: MouseEvent) => {
    const cell = (event.target as Element | null)?.closest<HTMLElement>(CELL_SELECTOR);
    const endpoint = cell?.dataset.endpoint;
    if (!endpoint) return;
    setActiveEndpoint(endpoint);
    setSelectedEndpoint(endpoint);
  }, []);

  const onGridKeyDown = useCallback((event: KeyboardEvent) => {
    const cell = (event.target as Element | null)?.closest<HTMLElement>(CELL_SELECTOR);
    if (!cell || !grid.current || event.altKey || event.ctrlKey || event.metaKey) return;
    const next = cellForKey(grid.current, cell, event.key);
    if (!next) return;
    event.preventDefault();
    focusCell(next);
    setActiveEndpoint(next.dataset.endpoint ?? null);
  }, []);

  return html`<section id="nodes" class="panel" aria-labelledby="nodes-heading">
    <div class="section-head">
      <h2 id="nodes-heading">Nodes</h2>
      <p class="section-summary" aria-live="polite">
        ${plural(views.length, 'node')}${filtering ? ` shown of ${nodes.length.toLocaleString('en-US')}` : ''} · ${plural(shownServers, 'server')}
      </p>
    </div>
    <${Filters} filter=${filter} regions=${options.regions} groups=${options.groups} onChange=${setFilter} />
    <${Legend} />
    <p id="grid-help" class="hint">Arrow keys move between servers, Home/End jump to the first/last, Enter or Space opens a server's details, Escape closes them.</p>
    <div class="node-grid" ref=${grid} role="group" aria-label="Servers by node" aria-describedby="grid-help" onClick=${onGridClick} onKeyDown=${onGridKeyDown}>
      ${views.length === 0 ? html`<p class="empty">No nodes match the filters.</p>` : null}
      ${(allDrawn ? views : views.slice(0, drawnNodes)).map(
        (view) => html`<${NodeCard}
          key=${view.node.name}
          view=${view}
          tabbableEndpoint=${view.node.name === tabbableNode ? tabbable : null}
          selectedEndpoint=${view.node.name === selectedNode ? selectedEndpoint : null}
          filtering=${filtering}
        />`,
      )}
    </div>
    ${selectedEndpoint === null
      ? null
      : html`<${DetailPanel} endpoint=${selectedEndpoint} server=${byEndpoint.get(selectedEndpoint)} onClose=${closeDetail} />`}
  </section>`;
}
