// One fetch wrapper for the daemon's API: same-origin cookie, the CSRF
// header on state-changing requests, Docker's {"message"} errors as
// ApiError, and any 401 sends the user to the login page.
import { loggedOut, session } from './session.svelte';

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  query?: Record<string, string | number | boolean | undefined>;
  /**
   * The request speaks to a registry through the daemon (login, search):
   * a 401 is then the registry's refusal, an error like others, unless it
   * is the daemon's own (the dashboard session ended).
   */
  registry?: boolean;
}

// The daemon's own 401 message, for a request without a session.
const sessionRefusal = /^authentication required: log in to the dashboard/;

export function url(path: string, query?: RequestOptions['query']): string {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === false || v === '') continue;
    q.set(k, v === true ? '1' : String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** Encodes a container/image name or ID for a path segment (keeps '/' for repo names). */
export function seg(s: string): string {
  return encodeURIComponent(s).replace(/%2F/gi, '/');
}

export async function request(path: string, o: RequestOptions = {}): Promise<Response> {
  const method = o.method ?? 'GET';
  const headers: Record<string, string> = { Accept: 'application/json', ...o.headers };
  let body = o.body;
  if (o.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(o.json);
  }
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = session.csrfToken;
  let r: Response;
  try {
    r = await fetch(url(path, o.query), { method, headers, body, signal: o.signal, credentials: 'same-origin' });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'Cannot reach the skiff daemon. Is it still running?');
  }
  if (r.status === 401 && !o.registry) {
    loggedOut();
    throw new ApiError(401, 'authentication required');
  }
  if (!r.ok && r.status !== 304) {
    let msg = `${method} ${path}: HTTP ${r.status}`;
    try {
      const text = await r.text();
      try {
        const j = JSON.parse(text);
        if (j?.message) msg = j.message;
      } catch {
        if (text.trim()) msg = text.trim();
      }
    } catch {
      // body unreadable
    }
    if (r.status === 401 && sessionRefusal.test(msg)) {
      loggedOut();
      throw new ApiError(401, 'authentication required');
    }
    throw new ApiError(r.status, msg);
  }
  return r;
}

export async function getJSON<T>(path: string, o: RequestOptions = {}): Promise<T> {
  const r = await request(path, o);
  return (await r.json()) as T;
}

export async function post(path: string, o: RequestOptions = {}): Promise<Response> {
  return request(path, { ...o, method: o.method ?? 'POST' });
}

/**
 * Reads a streamed response body chunk by chunk until it ends or the
 * signal aborts.
 */
export async function readStream(r: Response, onChunk: (b: Uint8Array) => void): Promise<void> {
  if (!r.body) return;
  const reader = r.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (value) onChunk(value);
    }
  } finally {
    reader.releaseLock();
  }
}

/** Reads a newline-delimited JSON stream. */
export async function readJSONLines<T>(r: Response, onValue: (v: T) => void): Promise<void> {
  const dec = new TextDecoder();
  let buf = '';
  await readStream(r, (b) => {
    buf += dec.decode(b, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) {
        try {
          onValue(JSON.parse(line) as T);
        } catch {
          // skip a malformed line
        }
      }
    }
  });
}

/** ws:// or wss:// URL for a path on this origin. */
export function wsURL(path: string, query?: RequestOptions['query']): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}${url(path, query)}`;
}
