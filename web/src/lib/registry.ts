// The daemon's registry endpoints as the dashboard uses them: search,
// login and logout, the registries with stored credentials, the
// registry configuration from /info, and the pull and push websockets.
import { getJSON, post, request, wsURL } from './api';
import { Progress, type JSONMessage } from './pullprogress';

/** A result of GET /images/search, in Docker's words. */
export interface SearchResult {
  name: string;
  description: string;
  star_count: number;
  is_official: boolean;
  is_automated?: boolean;
}

export function search(term: string, limit = 25, signal?: AbortSignal): Promise<SearchResult[]> {
  return getJSON<SearchResult[]>('/images/search', { query: { term, limit }, signal, registry: true });
}

/** POST /auth: the daemon checks the account against the registry and keeps it. */
export async function login(server: string, username: string, password: string): Promise<string> {
  const r = await post('/auth', { json: { username, password, serveraddress: server }, registry: true });
  const body = (await r.json().catch(() => ({}))) as { Status?: string };
  return body.Status || 'Login Succeeded';
}

export async function logout(server: string): Promise<void> {
  await request('/skiff/auth', { method: 'DELETE', query: { server } });
}

/** The registry hosts the daemon holds credentials for. */
export async function loggedIn(): Promise<string[]> {
  const r = await getJSON<{ Servers?: string[] | null }>('/skiff/auth');
  return r.Servers ?? [];
}

/** /info's RegistryConfig, as Docker reports it. */
export interface RegistryConfig {
  Mirrors?: string[] | null;
  InsecureRegistryCIDRs?: string[] | null;
  IndexConfigs?: Record<string, { Name: string; Mirrors?: string[] | null; Secure: boolean; Official: boolean }> | null;
}

export async function registryConfig(): Promise<RegistryConfig | null> {
  const info = await getJSON<{ RegistryConfig?: RegistryConfig | null }>('/info');
  return info.RegistryConfig ?? null;
}

/**
 * The registries reached without TLS besides loopback ones: the insecure
 * CIDRs (but loopback's, which every daemon has) and the registries marked
 * not secure.
 */
export function insecureRegistries(c: RegistryConfig | null): string[] {
  if (!c) return [];
  const out = (c.InsecureRegistryCIDRs ?? []).filter((x) => x !== '127.0.0.0/8' && x !== '::1/128');
  for (const [name, ic] of Object.entries(c.IndexConfigs ?? {})) if (!ic.Secure && !out.includes(name)) out.push(name);
  return out;
}

export type Op = 'pull' | 'push';

/**
 * Opens the pull or push websocket for ref and folds its messages into a
 * Progress; onchange runs after each message (and at the end). The
 * returned close() stops the work: the daemon cancels it when the socket
 * closes.
 */
export function follow(op: Op, ref: string, onchange: (p: Progress, ended: boolean) => void): { close: () => void } {
  const p = new Progress();
  const ws = new WebSocket(wsURL(`/skiff/images/${op}/ws`, { ref }));
  let ended = false;
  const end = (why?: string) => {
    if (ended) return;
    ended = true;
    if (why && !p.error && !p.result) p.error = { message: why };
    onchange(p, true);
  };
  ws.onmessage = (e) => {
    try {
      p.push(JSON.parse(e.data as string) as JSONMessage);
    } catch {
      return;
    }
    onchange(p, false);
  };
  ws.onclose = (e) => {
    if (e.code === 1000) end();
    else if (e.code === 1001) end('The daemon is stopping: the ' + op + ' was interrupted.');
    else end(e.reason || `The connection to the daemon was lost (code ${e.code}). Is the daemon still running, and are you still logged in?`);
  };
  return {
    close: () => {
      ended = true;
      ws.close();
    },
  };
}
