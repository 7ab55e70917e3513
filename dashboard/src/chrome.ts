/** The page header, the failure banner and the key form. */

import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import { bannerText, type FetchFailure } from './api-errors';
import { useNow } from './clock';
import { formatAge, formatClock } from './format';

function LastUpdated({ lastDataAtMs }: { lastDataAtMs: number | null }) {
  const nowMs = useNow();
  return html`<p id="last-updated" class="last-updated">
    ${lastDataAtMs === null ? 'Waiting for data…' : `Last updated ${formatClock(lastDataAtMs)} (${formatAge(lastDataAtMs, nowMs)})`}
  </p>`;
}

interface HeaderProps {
  connected: boolean;
  lastDataAtMs: number | null;
  onChangeKey: () => void;
}

export function Header({ connected, lastDataAtMs, onChangeKey }: HeaderProps) {
  return html`<header class="top">
    <h1>Fleet dashboard</h1>
    <${LastUpdated} lastDataAtMs=${connected ? lastDataAtMs : null} />
    ${connected ? html`<button type="button" class="secondary" onClick=${onChangeKey}>Change key</button>` : null}
  </header>`;
}

export interface FailureState {
  failure: FetchFailure;
  /** When this run of failed refreshes began. */
  sinceMs: number;
  /** When the next attempt is due. */
  nextAttemptAtMs: number;
}

interface BannerProps {
  failureState: FailureState;
  lastDataAtMs: number | null;
  intervalSeconds: number;
}

export function Banner({ failureState, lastDataAtMs, intervalSeconds }: BannerProps) {
  const nowMs = useNow();
  const text = bannerText({
    failure: failureState.failure,
    failingSinceMs: failureState.sinceMs,
    lastDataAtMs,
    intervalSeconds,
    retryInSeconds: Math.max(0, Math.ceil((failureState.nextAttemptAtMs - nowMs) / 1000)),
  });
  return html`<div id="banner" class="banner" role="alert">
    <p class="banner-headline">${text.headline}</p>
    <p class="banner-detail">${text.detail}</p>
  </div>`;
}

interface KeyFormProps {
  error: string | null;
  onSubmit: (key: string) => void;
}

export function KeyForm({ error, onSubmit }: KeyFormProps) {
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    input.current?.focus();
  }, []);
  const submit = (event: Event) => {
    event.preventDefault();
    const key = input.current?.value.trim() ?? '';
    if (key !== '') onSubmit(key);
  };
  return html`<section class="panel key-panel" aria-labelledby="key-heading">
    <h2 id="key-heading">Connect to the inventory API</h2>
    ${error ? html`<p id="auth-error" class="auth-error" role="alert">${error}</p>` : null}
    <form id="key-form" class="key-form" onSubmit=${submit}>
      <label for="key-input">API key</label>
      <input id="key-input" name="key" type="password" autocomplete="off" spellcheck=${false} required ref=${input} aria-describedby=${error ? 'auth-error' : undefined} />
      <button type="submit">Connect</button>
    </form>
    <p class="hint">The key stays in this tab only (session storage) and is sent to this site's API as a bearer token.</p>
  </section>`;
}
