/** The detail panel of one server, with live ages and the claim's countdown. */

import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import { useNow } from './clock';
import { formatAge, formatClaimCountdown, formatClock, humanizeReason, parseTime } from './format';
import { NO_GROUP_LABEL } from './model';
import type { FleetClaim, FleetServer } from './types';

function timeWithAge(iso: string, nowMs: number): string {
  const ms = parseTime(iso);
  if (Number.isNaN(ms)) return iso;
  return `${formatClock(ms)} (${formatAge(ms, nowMs)})`;
}

const row = (term: string, value: unknown) => html`<div class="detail-row"><dt>${term}</dt><dd>${value}</dd></div>`;

function ClaimDetails({ claim, nowMs }: { claim: FleetClaim; nowMs: number }) {
  const expiresAtMs = parseTime(claim.expiresAt);
  return html`<h4>Claim</h4>
    <dl>
      ${row('Owner', claim.owner ?? 'not shown')}
      ${claim.id ? row('Claim id', html`<code>${claim.id}</code>`) : row('Claim ref', html`<code>${claim.ref}</code>`)}
      ${row('State', claim.confirmed ? 'confirmed (held)' : 'leased, not confirmed yet')}
      ${row('Since', timeWithAge(claim.since, nowMs))}
      ${row(
        claim.confirmed ? 'Hold' : 'Lease',
        html`<span class=${expiresAtMs <= nowMs ? 'countdown expired' : 'countdown'} data-countdown>${formatClaimCountdown(claim.confirmed, expiresAtMs, nowMs)}</span>`,
      )}
    </dl>`;
}

function ServerDetails({ server, nowMs }: { server: FleetServer; nowMs: number }) {
  const players = server.players !== undefined || server.capacity !== undefined ? `${server.players ?? '?'} / ${server.capacity ?? '?'}` : 'not reported';
  return html`<dl>
      ${row('Endpoint', html`<code>${server.endpoint}</code>`)}
      ${server.publicEndpoint ? row('Public endpoint', html`<code>${server.publicEndpoint}</code>`) : null}
      ${row('Node', server.node)}
      ${row('Region', server.region)}
      ${row('Group', server.group ?? NO_GROUP_LABEL)}
      ${row('Status', server.status)}
      ${row('Stale', server.stale === true ? 'yes: heartbeats stopped' : 'no')}
      ${row('Lifecycle', server.lifecycle ?? 'not reported')}
      ${row('Drain', server.drain ? humanizeReason(server.drain) : 'none')}
      ${server.nodeDrained === true ? row('Node drained', 'yes') : null}
      ${row('Players', players)}
      ${row('Last heartbeat', timeWithAge(server.lastHeartbeatAt, nowMs))}
    </dl>
    ${server.claim ? html`<${ClaimDetails} claim=${server.claim} nowMs=${nowMs} />` : html`<p class="muted">No claim.</p>`}`;
}

interface DetailPanelProps {
  endpoint: string;
  /** The server's current record; undefined once it left the fleet. */
  server: FleetServer | undefined;
  onClose: () => void;
}

export function DetailPanel({ endpoint, server, onClose }: DetailPanelProps) {
  const nowMs = useNow();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
  }, [endpoint]);
  return html`<aside id="server-detail" class="detail" aria-labelledby="server-detail-heading">
    <div class="detail-head">
      <h3 id="server-detail-heading" tabindex="-1" ref=${heading}>Server ${endpoint}</h3>
      <button type="button" class="close" onClick=${onClose} aria-label="Close server details (Escape)">Close</button>
    </div>
    ${server ? html`<${ServerDetails} server=${server} nowMs=${nowMs} />` : html`<p>This server is no longer in the fleet.</p>`}
  </aside>`;
}
