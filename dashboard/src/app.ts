/** The page: key handling, the refresh loop, and the four sections. */

import { html } from 'htm/preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { loadLiveData } from './api';
import { isKeyProblem, keyProblemMessage, retryDelaySeconds, type FetchFailure } from './api-errors';
import { Banner, Header, KeyForm, type FailureState } from './chrome';
import { ClaimsSection } from './claims';
import { EventsSection } from './events';
import { NodesSection } from './nodes';
import { OverviewSection } from './overview';
import { appendSample, parseStoredSamples, serializeSamples, takeSample, type Sample } from './samples';
import { KEY_STORAGE_NAME, SAMPLES_STORAGE_NAME, readSession, removeSession, writeSession } from './storage';
import type { FeedEvent, Fleet } from './types';

interface LiveState {
  fleet: Fleet | null;
  events: FeedEvent[];
  eventsFailure: FetchFailure | null;
  /** When the data on screen was received (page clock). */
  lastDataAtMs: number | null;
  /** Successful data refreshes so far; each one is rendered once. */
  dataRenders: number;
  failure: FailureState | null;
  samples: Sample[];
}

/** Timing of the refresh whose data is about to be rendered (performance.now() values). */
interface PendingTiming {
  refreshStartedAt: number;
  dataParsedAt: number;
}

function initialLiveState(): LiveState {
  return {
    fleet: null,
    events: [],
    eventsFailure: null,
    lastDataAtMs: null,
    dataRenders: 0,
    failure: null,
    samples: parseStoredSamples(readSession(SAMPLES_STORAGE_NAME), Date.now()),
  };
}

function recordRenderTiming(renderNumber: number, timing: PendingTiming): void {
  const end = performance.now();
  if (renderNumber === 1) {
    performance.measure('dashboard:first-render', { start: 0, end });
    performance.measure('dashboard:first-render-render', { start: timing.dataParsedAt, end });
  } else {
    performance.measure('dashboard:refresh', { start: timing.refreshStartedAt, end });
    performance.measure('dashboard:refresh-render', { start: timing.dataParsedAt, end });
  }
  document.documentElement.dataset.refreshes = String(renderNumber);
}

interface AppProps {
  initialKey: string | null;
  refreshSeconds: number;
}

export function App({ initialKey, refreshSeconds }: AppProps) {
  const [key, setKey] = useState<string | null>(initialKey);
  const [keyError, setKeyError] = useState<string | null>(null);
  const [live, setLive] = useState<LiveState>(initialLiveState);
  const pendingTiming = useRef<PendingTiming | null>(null);

  useEffect(() => {
    if (key === null) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;

    const scheduleNext = (seconds: number) => {
      timer = setTimeout(refresh, seconds * 1000);
    };

    /** One refresh at a time: the next one is scheduled only when this one has finished. */
    async function refresh(): Promise<void> {
      const refreshStartedAt = performance.now();
      const result = await loadLiveData(key as string, controller.signal);
      if (controller.signal.aborted) return;
      const nowMs = Date.now();
      if (result.ok) {
        const { fleet, fleetParsedAt, events } = result.data;
        pendingTiming.current = { refreshStartedAt, dataParsedAt: fleetParsedAt };
        setLive((previous) => {
          const samples = appendSample(previous.samples, takeSample(fleet.servers, nowMs), nowMs);
          writeSession(SAMPLES_STORAGE_NAME, serializeSamples(samples));
          return {
            fleet,
            events: events.ok && Array.isArray(events.data?.events) ? events.data.events : previous.events,
            eventsFailure: events.ok ? null : events.failure,
            lastDataAtMs: nowMs,
            dataRenders: previous.dataRenders + 1,
            failure: null,
            samples,
          };
        });
        scheduleNext(refreshSeconds);
        return;
      }
      const failure = result.failure;
      if (isKeyProblem(failure)) {
        removeSession(KEY_STORAGE_NAME);
        setKeyError(keyProblemMessage(failure));
        setKey(null);
        setLive((previous) => ({ ...previous, failure: null }));
        return;
      }
      const delaySeconds = retryDelaySeconds(failure, refreshSeconds);
      setLive((previous) => ({
        ...previous,
        failure: {
          failure,
          sinceMs: previous.failure?.sinceMs ?? nowMs,
          nextAttemptAtMs: nowMs + delaySeconds * 1000,
        },
      }));
      scheduleNext(delaySeconds);
    }

    void refresh();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [key, refreshSeconds]);

  useEffect(() => {
    const timing = pendingTiming.current;
    if (live.dataRenders === 0 || timing === null) return;
    pendingTiming.current = null;
    recordRenderTiming(live.dataRenders, timing);
  }, [live.dataRenders]);

  const connect = useCallback((newKey: string) => {
    writeSession(KEY_STORAGE_NAME, newKey);
    setKeyError(null);
    setKey(newKey);
  }, []);

  const changeKey = useCallback(() => {
    removeSession(KEY_STORAGE_NAME);
    setKeyError(null);
    setKey(null);
    setLive((previous) => ({ ...previous, failure: null }));
  }, []);

  const connected = key !== null;
  return html`
    <${Header} connected=${connected} lastDataAtMs=${live.lastDataAtMs} onChangeKey=${changeKey} />
    ${connected && live.failure
      ? html`<${Banner} failureState=${live.failure} lastDataAtMs=${live.lastDataAtMs} intervalSeconds=${refreshSeconds} />`
      : null}
    ${!connected
      ? html`<${KeyForm} error=${keyError} onSubmit=${connect} />`
      : live.fleet === null
        ? html`<p class="loading" aria-live="polite">${live.failure ? 'No data yet.' : 'Loading the fleet…'}</p>`
        : html`<div class="layout">
            <div class="column primary">
              <${OverviewSection} fleet=${live.fleet} samples=${live.samples} />
              <${NodesSection} fleet=${live.fleet} />
            </div>
            <div class="column secondary">
              <${ClaimsSection} fleet=${live.fleet} />
              <${EventsSection} events=${live.events} failure=${live.eventsFailure} />
            </div>
          </div>`}
  `;
}
