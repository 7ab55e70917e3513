/** Pure views of the fleet for the page: counts, nodes, claims, events (no DOM). */

import { SERVER_STATUSES, type FeedEvent, type FleetServer, type ServerStatus } from './types';
import { humanizeReason, parseTime } from './format';

// ---------- overview counts ----------

/** The columns of the overview table: the statuses, then stale (counted on top of its status). */
export const COUNT_COLUMNS = [...SERVER_STATUSES, 'stale'] as const;
export type CountColumn = (typeof COUNT_COLUMNS)[number];

export type StatusCounts = Record<CountColumn, number> & { total: number };

export const NO_GROUP_LABEL = '(no group)';

export interface OverviewRow {
  region: string;
  /** The group's name, or null for servers without one. */
  group: string | null;
  counts: StatusCounts;
}

export interface Overview {
  rows: OverviewRow[];
  totals: StatusCounts;
}

export function emptyCounts(): StatusCounts {
  return { available: 0, claimed: 0, busy: 0, draining: 0, terminated: 0, stale: 0, total: 0 };
}

function addToCounts(counts: StatusCounts, server: FleetServer): void {
  if (server.status in counts) counts[server.status] += 1;
  if (server.stale === true) counts.stale += 1;
  counts.total += 1;
}

const isDigit = (code: number): boolean => code >= 48 && code <= 57;

/**
 * "node-9" before "node-10", "10.0.0.9:7777" before "10.0.0.10:7777": runs of digits compare by
 * value, everything else by UTF-16 code unit (Intl.Collator is far slower on 10,000 servers).
 */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      let endA = i;
      let endB = j;
      while (endA < a.length && isDigit(a.charCodeAt(endA))) endA++;
      while (endB < b.length && isDigit(b.charCodeAt(endB))) endB++;
      let startA = i;
      let startB = j;
      while (startA < endA - 1 && a.charCodeAt(startA) === 48) startA++;
      while (startB < endB - 1 && b.charCodeAt(startB) === 48) startB++;
      const lengthDifference = endA - startA - (endB - startB);
      if (lengthDifference !== 0) return lengthDifference;
      for (let k = 0; k < endA - startA; k++) {
        const digitDifference = a.charCodeAt(startA + k) - b.charCodeAt(startB + k);
        if (digitDifference !== 0) return digitDifference;
      }
      i = endA;
      j = endB;
      continue;
    }
    if (ca !== cb) return ca - cb;
    i++;
    j++;
  }
  return a.length - i - (b.length - j);
}

/** Servers by status per region and group, rows sorted by region then group (no group last). */
export function overviewCounts(servers: readonly FleetServer[]): Overview {
  const rowsByKey = new Map<string, OverviewRow>();
  const totals = emptyCounts();
  for (const server of servers) {
    const group = server.group ?? null;
    const key = `${server.region}\u0000${group ?? ''}\u0000${group === null ? '0' : '1'}`;
    let row = rowsByKey.get(key);
    if (!row) {
      row = { region: server.region, group, counts: emptyCounts() };
      rowsByKey.set(key, row);
    }
    addToCounts(row.counts, server);
    addToCounts(totals, server);
  }
  const rows = [...rowsByKey.values()].sort(
    (a, b) =>
      naturalCompare(a.region, b.region) ||
      (a.group === null ? 1 : 0) - (b.group === null ? 1 : 0) ||
      naturalCompare(a.group ?? '', b.group ?? ''),
  );
  return { rows, totals };
}

// ---------- status presentation ----------

/** The letter each status shows in its cell, so that status never relies on colour alone. */
export const STATUS_LETTER: Record<ServerStatus, string> = {
  available: 'A',
  claimed: 'C',
  busy: 'B',
  draining: 'D',
  terminated: 'T',
};

export function statusLetter(status: string): string {
  return STATUS_LETTER[status as ServerStatus] ?? '?';
}

/** "10.0.0.1:7777 busy, claimed by key:matchmaker, stale (no heartbeats)" */
export function serverLabel(server: FleetServer): string {
  const parts = [`${server.endpoint} ${server.status}`];
  if (server.drain) parts.push(`drain: ${humanizeReason(server.drain)}`);
  if (server.claim) parts.push(server.claim.owner ? `claimed by ${server.claim.owner}` : 'claimed');
  if (server.stale === true) parts.push('stale (no heartbeats)');
  if (server.nodeDrained === true) parts.push('node drained');
  return parts.join(', ');
}

// ---------- nodes ----------

export interface NodeSummary {
  name: string;
  region: string;
  /** Every server of the node, in endpoint order. */
  servers: FleetServer[];
  /** The node is drained (one of its servers says so). */
  drained: boolean;
  /** Why it was drained, from its drained servers' drain reasons. */
  drainedReason: string | null;
  spotInterruption: boolean;
  spot: boolean;
  /** Drained, draining, stale or terminated servers: someone should look. */
  needsAttention: boolean;
}

const mostCommon = (values: readonly string[]): string | null => {
  const counts = new Map<string, number>();
  let best: string | null = null;
  let bestCount = 0;
  for (const value of values) {
    const count = (counts.get(value) ?? 0) + 1;
    counts.set(value, count);
    if (count > bestCount) {
      best = value;
      bestCount = count;
    }
  }
  return best;
};

export function serverNeedsAttention(server: FleetServer): boolean {
  return server.nodeDrained === true || server.status === 'draining' || server.status === 'terminated' || server.stale === true;
}

function summarizeNode(name: string, servers: FleetServer[]): NodeSummary {
  servers.sort((a, b) => naturalCompare(a.endpoint, b.endpoint));
  const drainedServers = servers.filter((server) => server.nodeDrained === true);
  const drained = drainedServers.length > 0;
  const drainReasons = drainedServers.flatMap((server) => (server.drain ? [server.drain] : []));
  return {
    name,
    region: servers[0]?.region ?? '',
    servers,
    drained,
    drainedReason: drained ? humanizeReason(mostCommon(drainReasons) ?? 'node drained') : null,
    spotInterruption: servers.some((server) => server.drain === 'spot-interruption'),
    spot: servers.some((server) => server.lifecycle === 'spot'),
    needsAttention: servers.some(serverNeedsAttention),
  };
}

/** Drained nodes first, then nodes needing attention, then the rest; by name within each. */
export function compareNodes(a: NodeSummary, b: NodeSummary): number {
  const rank = (node: NodeSummary): number => (node.drained ? 0 : node.needsAttention ? 1 : 2);
  return rank(a) - rank(b) || naturalCompare(a.name, b.name);
}

export function summarizeNodes(servers: readonly FleetServer[]): NodeSummary[] {
  const byNode = new Map<string, FleetServer[]>();
  for (const server of servers) {
    const list = byNode.get(server.node);
    if (list) list.push(server);
    else byNode.set(server.node, [server]);
  }
  return [...byNode].map(([name, nodeServers]) => summarizeNode(name, nodeServers)).sort(compareNodes);
}

// ---------- node filters ----------

/** Status filter values: a status, "stale", or "" for any. */
export interface NodeFilter {
  region: string;
  /** A group name, NO_GROUP_LABEL for servers without one, or "" for any. */
  group: string;
  status: string;
  attentionOnly: boolean;
}

export const NO_FILTER: NodeFilter = { region: '', group: '', status: '', attentionOnly: false };

export function isFiltering(filter: NodeFilter): boolean {
  return filter.region !== '' || filter.group !== '' || filter.status !== '' || filter.attentionOnly;
}

export function serverMatchesFilter(server: FleetServer, filter: NodeFilter): boolean {
  if (filter.region !== '' && server.region !== filter.region) return false;
  if (filter.group !== '' && (server.group ?? NO_GROUP_LABEL) !== filter.group) return false;
  if (filter.status === 'stale') return server.stale === true;
  if (filter.status !== '' && server.status !== filter.status) return false;
  return true;
}

export interface VisibleNode {
  node: NodeSummary;
  /** The node's servers that pass the filter (all of them when nothing filters servers). */
  cells: FleetServer[];
  /** Everything the node card renders, as one string: equal signatures render the same card. */
  signature: string;
}

function cellSignature(server: FleetServer): string {
  return [
    server.endpoint,
    server.status,
    server.stale === true ? 's' : '',
    server.drain ?? '',
    server.nodeDrained === true ? 'n' : '',
    server.claim?.owner ?? (server.claim ? '?' : ''),
  ].join('|');
}

export function nodeSignature(node: NodeSummary, cells: readonly FleetServer[]): string {
  const head = [node.name, node.region, node.servers.length, node.drainedReason ?? '', node.spotInterruption, node.spot, node.needsAttention];
  return `${head.join('|')}#${cells.map(cellSignature).join(';')}`;
}

/** The nodes to show under a filter, with the cells each shows. */
export function visibleNodes(nodes: readonly NodeSummary[], filter: NodeFilter): VisibleNode[] {
  const visible: VisibleNode[] = [];
  const filtersServers = filter.region !== '' || filter.group !== '' || filter.status !== '';
  for (const node of nodes) {
    if (filter.attentionOnly && !node.drained && !node.needsAttention) continue;
    const cells = filtersServers ? node.servers.filter((server) => serverMatchesFilter(server, filter)) : node.servers;
    if (cells.length === 0) continue;
    visible.push({ node, cells, signature: nodeSignature(node, cells) });
  }
  return visible;
}

/** Distinct values for the filter menus. */
export function filterOptions(servers: readonly FleetServer[]): { regions: string[]; groups: string[] } {
  const regions = new Set<string>();
  const groups = new Set<string>();
  let ungrouped = false;
  for (const server of servers) {
    regions.add(server.region);
    if (server.group === undefined) ungrouped = true;
    else groups.add(server.group);
  }
  const sortedGroups = [...groups].sort(naturalCompare);
  if (ungrouped) sortedGroups.push(NO_GROUP_LABEL);
  return { regions: [...regions].sort(naturalCompare), groups: sortedGroups };
}

// ---------- claims ----------

export interface ClaimMember {
  endpoint: string;
  node: string;
}

export interface OpenClaim {
  ref: string;
  id: string | null;
  owner: string | null;
  /** Every server of the claim is confirmed (busy); otherwise it is still a lease. */
  confirmed: boolean;
  sinceMs: number;
  /** The earliest end among its servers. */
  expiresAtMs: number;
  servers: ClaimMember[];
}

/** Open claims, one per claim ref (a pair is one claim on two servers), soonest to expire first. */
export function openClaims(servers: readonly FleetServer[]): OpenClaim[] {
  const byRef = new Map<string, OpenClaim>();
  for (const server of servers) {
    const claim = server.claim;
    if (!claim) continue;
    const sinceMs = parseTime(claim.since);
    const expiresAtMs = parseTime(claim.expiresAt);
    const member = { endpoint: server.endpoint, node: server.node };
    const open = byRef.get(claim.ref);
    if (!open) {
      byRef.set(claim.ref, {
        ref: claim.ref,
        id: claim.id ?? null,
        owner: claim.owner ?? null,
        confirmed: claim.confirmed,
        sinceMs,
        expiresAtMs,
        servers: [member],
      });
      continue;
    }
    open.servers.push(member);
    open.id ??= claim.id ?? null;
    open.owner ??= claim.owner ?? null;
    open.confirmed &&= claim.confirmed;
    if (sinceMs < open.sinceMs) open.sinceMs = sinceMs;
    if (expiresAtMs < open.expiresAtMs) open.expiresAtMs = expiresAtMs;
  }
  const byEndpoint = (a: ClaimMember, b: ClaimMember): number => naturalCompare(a.endpoint, b.endpoint);
  for (const open of byRef.values()) open.servers.sort(byEndpoint);
  return [...byRef.values()].sort(
    (a, b) => (a.expiresAtMs || Infinity) - (b.expiresAtMs || Infinity) || naturalCompare(a.ref, b.ref),
  );
}

/** At most `limit` items and how many were left out. */
export function firstN<T>(items: readonly T[], limit: number): { shown: T[]; hiddenCount: number } {
  return { shown: items.slice(0, limit), hiddenCount: Math.max(0, items.length - limit) };
}

// ---------- events ----------

/** "available → claimed · released · key:matchmaker" */
export function eventDetail(event: FeedEvent): string {
  const parts: string[] = [];
  if (event.previousStatus && event.status) parts.push(`${event.previousStatus} → ${event.status}`);
  else if (event.status) parts.push(event.status);
  if (event.reason) parts.push(humanizeReason(event.reason));
  if (event.owner) parts.push(event.owner);
  if (event.node) parts.push(`on ${event.node}`);
  return parts.join(' · ');
}

// ---------- lookups ----------

export function indexByEndpoint(servers: readonly FleetServer[]): Map<string, FleetServer> {
  return new Map(servers.map((server) => [server.endpoint, server]));
}
