/** The "Claims" section: open claims, one row per claim ref, soonest to expire first. */

import { html } from 'htm/preact';
import { useMemo } from 'preact/hooks';
import { useNow } from './clock';
import { formatAge, formatTimeLeft } from './format';
import { firstN, openClaims, type OpenClaim } from './model';
import type { Fleet } from './types';

export const MAX_CLAIM_ROWS = 200;

function ClaimRow({ claim, nowMs }: { claim: OpenClaim; nowMs: number }) {
  const expired = claim.expiresAtMs <= nowMs;
  return html`<tr data-claim-ref=${claim.ref}>
    <td>${claim.owner ?? html`<span class="muted">not shown</span>`}</td>
    <td>${claim.id ? html`<code>${claim.id}</code>` : html`<code class="muted" title="claim ref">${claim.ref}</code>`}</td>
    <td>
      <ul class="claim-servers">
        ${claim.servers.map((server) => html`<li><code>${server.endpoint}</code> <span class="muted">on</span> ${server.node}</li>`)}
      </ul>
    </td>
    <td><span class=${claim.confirmed ? 'state confirmed' : 'state leased'}>${claim.confirmed ? 'confirmed' : 'leased'}</span></td>
    <td class="num">${Number.isNaN(claim.sinceMs) ? '?' : formatAge(claim.sinceMs, nowMs)}</td>
    <td class=${expired ? 'num expired' : 'num'} data-countdown>${Number.isNaN(claim.expiresAtMs) ? '?' : formatTimeLeft(claim.expiresAtMs, nowMs)}</td>
  </tr>`;
}

export function ClaimsSection({ fleet }: { fleet: Fleet }) {
  const nowMs = useNow();
  const claims = useMemo(() => openClaims(fleet.servers), [fleet]);
  const { shown, hiddenCount } = firstN(claims, MAX_CLAIM_ROWS);
  return html`<section id="claims" class="panel" aria-labelledby="claims-heading">
    <div class="section-head">
      <h2 id="claims-heading">Claims</h2>
      <p class="section-summary">${claims.length.toLocaleString('en-US')} open</p>
    </div>
    ${claims.length === 0
      ? html`<p class="empty">No open claims</p>`
      : html`<div class="table-scroll tall">
          <table class="claims">
            <caption class="visually-hidden">Open claims, soonest to expire first</caption>
            <thead>
              <tr>
                <th scope="col">Owner</th>
                <th scope="col">Claim</th>
                <th scope="col">Servers</th>
                <th scope="col">State</th>
                <th scope="col" class="num">Age</th>
                <th scope="col" class="num">Time left</th>
              </tr>
            </thead>
            <tbody>
              ${shown.map((claim) => html`<${ClaimRow} key=${claim.ref} claim=${claim} nowMs=${nowMs} />`)}
            </tbody>
          </table>
        </div>`}
    ${hiddenCount > 0 ? html`<p class="more">and ${hiddenCount.toLocaleString('en-US')} more</p>` : null}
  </section>`;
}
