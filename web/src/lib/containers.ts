// Container types and actions, each with the CLI command that does the same.
import { post, request, seg } from './api';
import { insertSorted, removeAt } from './sorted';

export interface Port {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  State: string;
  Status: string;
  Ports: Port[] | null;
  Labels?: Record<string, string>;
}

export type Action = 'start' | 'stop' | 'restart' | 'kill' | 'pause' | 'unpause' | 'remove';

export const actionLabels: Record<Action, string> = {
  start: 'Start',
  stop: 'Stop',
  restart: 'Restart',
  kill: 'Kill',
  pause: 'Pause',
  unpause: 'Unpause',
  remove: 'Remove',
};

export function name(c: { Names?: string[]; Name?: string; Id: string }): string {
  const n = c.Names?.[0] ?? c.Name ?? '';
  return n.replace(/^\//, '') || c.Id.slice(0, 12);
}

/** Which actions make sense in a state. */
export function actionsFor(state: string): Action[] {
  switch (state) {
    case 'running':
      return ['stop', 'restart', 'pause', 'kill', 'remove'];
    case 'paused':
      return ['unpause', 'kill', 'remove'];
    case 'restarting':
      return ['stop', 'kill', 'remove'];
    default:
      return ['start', 'remove'];
  }
}

export function cliFor(action: Action, n: string): string {
  return action === 'remove' ? `skiff rm -f ${n}` : `skiff ${action} ${n}`;
}

export async function runAction(id: string, action: Action): Promise<void> {
  if (action === 'remove') {
    await request(`/containers/${seg(id)}`, { method: 'DELETE', query: { force: true } });
    return;
  }
  await post(`/containers/${seg(id)}/${action}`);
}

export async function rename(id: string, newName: string): Promise<void> {
  await post(`/containers/${seg(id)}/rename`, { query: { name: newName } });
}

export interface PortLink {
  href: string; // '' when the browser cannot open it (udp, or loopback of another machine)
  text: string;
  title: string;
}

const isLoopback = (h: string) => h === 'localhost' || /^127\./.test(h) || h === '::1' || h === '[::1]';

/**
 * Links for published ports, at an address this browser can reach: a port
 * on every address (0.0.0.0, ::) at the host the dashboard was opened on,
 * a port on the host's loopback only when the dashboard itself was opened
 * on a loopback address (the browser then runs on the daemon's host), any
 * other address as it is. UDP ports are listed without a link.
 */
export function portLinks(ports: Port[] | null | undefined, pageHost: string = location.hostname): PortLink[] {
  const out: PortLink[] = [];
  const seen = new Set<string>();
  for (const p of ports ?? []) {
    if (!p.PublicPort) continue;
    const ip = p.IP ?? '';
    const any = ip === '' || ip === '0.0.0.0' || ip === '::';
    const reachable = any || !isLoopback(ip) || isLoopback(pageHost);
    const host = any ? pageHost : ip;
    const key = `${host}:${p.PublicPort}:${p.PrivatePort}/${p.Type}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    const bound = any ? `every address of the daemon's host` : ip;
    out.push({
      href: p.Type === 'tcp' && reachable ? `http://${h}:${p.PublicPort}/` : '',
      text: `${p.PublicPort}→${p.PrivatePort}${p.Type === 'tcp' ? '' : '/' + p.Type}`,
      title: reachable
        ? `${h}:${p.PublicPort} → container port ${p.PrivatePort}/${p.Type} (published on ${bound})`
        : `Published on ${ip}:${p.PublicPort} → container port ${p.PrivatePort}/${p.Type}: reachable from the daemon's host only`,
    });
  }
  return out;
}

/** inspect's NetworkSettings.Ports ({"80/tcp": [{HostIp, HostPort}]}) as ps lists them. */
export function portsFromInspect(m: Record<string, { HostIp: string; HostPort: string }[] | null> | null | undefined): Port[] {
  const out: Port[] = [];
  for (const [key, binds] of Object.entries(m ?? {})) {
    const [port, type = 'tcp'] = key.split('/');
    if (!binds?.length) out.push({ PrivatePort: Number(port), Type: type });
    for (const b of binds ?? []) out.push({ IP: b.HostIp, PrivatePort: Number(port), PublicPort: Number(b.HostPort) || undefined, Type: type });
  }
  return out.sort((a, b) => a.PrivatePort - b.PrivatePort || a.Type.localeCompare(b.Type));
}

/** The order of the containers list: newest first, as docker ps. */
export function newestFirst(a: ContainerSummary, b: ContainerSummary): number {
  return b.Created - a.Created || (a.Id < b.Id ? -1 : a.Id > b.Id ? 1 : 0);
}

/**
 * The list (kept in newestFirst order) with c in its place: replaced where
 * it was when its creation time is unchanged (a state change), inserted
 * where it sorts otherwise. Returns a new array whose other entries are the
 * same objects, so only c's row renders again.
 */
export function upsertContainer(list: ContainerSummary[], c: ContainerSummary): ContainerSummary[] {
  const i = list.findIndex((x) => x.Id === c.Id);
  if (i >= 0 && list[i].Created === c.Created) {
    const out = list.slice();
    out[i] = c;
    return out;
  }
  return insertSorted(i >= 0 ? removeAt(list, i) : list, c, newestFirst);
}

/** The list without the container id (the same array when it is absent). */
export function removeContainer(list: ContainerSummary[], id: string): ContainerSummary[] {
  const i = list.findIndex((x) => x.Id === id);
  return i < 0 ? list : removeAt(list, i);
}
