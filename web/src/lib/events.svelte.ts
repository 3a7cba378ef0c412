// One /events stream for the whole page: list pages subscribe to it
// instead of polling, and the Events page shows its recent history.
import { ApiError, readJSONLines, request } from './api';

export interface EngineEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  time: number;
  timeNano: number;
  scope?: string;
}

type Listener = (e: EngineEvent) => void;

const listeners = new Set<Listener>();
export const feed = $state({ events: [] as EngineEvent[], connected: false, error: '' });
const MAX = 2000;

let ctrl: AbortController | null = null;

export function subscribe(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function startEvents() {
  if (ctrl) return;
  ctrl = new AbortController();
  const signal = ctrl.signal;
  let delay = 500;
  // The Events page shows the last hour; pages only react to what happens
  // from now on.
  const startedAt = Math.floor(Date.now() / 1000);
  let since = startedAt - 3600;
  (async () => {
    while (!signal.aborted) {
      try {
        const r = await request('/events', { signal, query: { since } });
        feed.connected = true;
        feed.error = '';
        delay = 500;
        await readJSONLines<EngineEvent>(r, (e) => {
          since = e.time;
          feed.events.push(e);
          if (feed.events.length > MAX) feed.events.splice(0, feed.events.length - MAX);
          if (e.time >= startedAt) for (const l of listeners) l(e);
        });
      } catch (e) {
        if (signal.aborted) break;
        if (e instanceof ApiError && e.status === 401) break;
        feed.error = e instanceof Error ? e.message : String(e);
      }
      feed.connected = false;
      if (signal.aborted) break;
      await new Promise((res) => setTimeout(res, delay));
      delay = Math.min(delay * 2, 10_000);
      // Tell subscribers to resync: events may have been missed.
      for (const l of listeners) l({ Type: 'skiff', Action: 'resync', Actor: { ID: '' }, time: 0, timeNano: 0 });
    }
  })();
}

export function stopEvents() {
  ctrl?.abort();
  ctrl = null;
  feed.connected = false;
}
