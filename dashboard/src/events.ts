/** The "Latest events" section. */

import { html } from 'htm/preact';
import { describeHttpFailure, type FetchFailure } from './api-errors';
import { formatClock, parseTime } from './format';
import { eventDetail } from './model';
import type { FeedEvent } from './types';

function eventTime(event: FeedEvent): string {
  const ms = parseTime(event.time);
  return Number.isNaN(ms) ? event.time : formatClock(ms);
}

interface EventsSectionProps {
  events: FeedEvent[];
  /** The last events call failed while the fleet call worked: the list shown is older. */
  failure: FetchFailure | null;
}

export function EventsSection({ events, failure }: EventsSectionProps) {
  return html`<section id="events" class="panel" aria-labelledby="events-heading">
    <h2 id="events-heading">Latest events</h2>
    ${failure ? html`<p class="notice">Could not refresh the events (${describeHttpFailure(failure)}); showing the last list received.</p>` : null}
    ${events.length === 0
      ? html`<p class="empty">No recent events</p>`
      : html`<div class="table-scroll tall">
          <table class="events">
            <caption class="visually-hidden">Latest lifecycle events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Type</th>
                <th scope="col">Endpoint</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              ${events.map(
                (event) => html`<tr key=${event.id} data-event-id=${event.id}>
                  <td><time datetime=${event.time}>${eventTime(event)}</time></td>
                  <td><span class=${`event-type t-${event.type.replace(/[^a-z0-9]+/gi, '-')}`}>${event.type}</span></td>
                  <td><code>${event.endpoint}</code></td>
                  <td>${eventDetail(event)}</td>
                </tr>`,
              )}
            </tbody>
          </table>
        </div>`}
  </section>`;
}
