// Networks: what GET /networks and GET /networks/{id} answer, and the
// create request with the `skiff network` command that does the same.
import { getJSON, post, request, seg } from './api';
import { shellQuote } from './runcmd';

export interface NetworkSummary {
  Id: string;
  Name: string;
  Driver: string;
  Created: string;
  IPAM: { Config: { Subnet?: string; Gateway?: string }[] | null };
  Containers?: Record<string, { Name: string; IPv4Address: string }>;
}

export interface NetworkRow {
  id: string;
  name: string;
  driver: string;
  subnet: string;
  gateway: string;
  containers: { id: string; name: string; address: string }[];
  predefined: boolean;
  created: string;
}

const predefined = ['bridge', 'host', 'none'];

export function toRow(n: NetworkSummary): NetworkRow {
  const cfg = n.IPAM?.Config?.[0] ?? {};
  return {
    id: n.Id,
    name: n.Name,
    driver: n.Driver,
    subnet: cfg.Subnet ?? '',
    gateway: cfg.Gateway ?? '',
    containers: Object.entries(n.Containers ?? {})
      .map(([id, c]) => ({ id, name: c.Name, address: c.IPv4Address }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    predefined: predefined.includes(n.Name),
    created: n.Created,
  };
}

/** The default bridge first, then host and none, then the user's networks by name. */
export function byKind(a: NetworkRow, b: NetworkRow): number {
  const ia = predefined.indexOf(a.name);
  const ib = predefined.indexOf(b.name);
  if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  return a.name.localeCompare(b.name);
}

/**
 * Every network with the containers on it. The list leaves the containers
 * out, as Docker's does: each network's inspect has them.
 */
export async function loadNetworks(): Promise<NetworkRow[]> {
  const list = await getJSON<NetworkSummary[]>('/networks');
  const full = await Promise.all(list.map((n) => getJSON<NetworkSummary>(`/networks/${seg(n.Id)}`).catch(() => n)));
  return full.map(toRow).sort(byKind);
}

/** Checks an IPv4 subnet in CIDR form, as the daemon will (''=the daemon picks one). */
export function checkSubnet(s: string): string {
  const t = s.trim();
  if (!t) return '';
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(t);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) return `invalid subnet "${t}": write it as an IPv4 CIDR, like 10.10.0.0/24`;
  return '';
}

export function createRequest(name: string, subnet: string): Record<string, unknown> {
  const body: Record<string, unknown> = { Name: name.trim(), Driver: 'bridge' };
  if (subnet.trim()) body.IPAM = { Driver: 'default', Config: [{ Subnet: subnet.trim() }] };
  return body;
}

export function createCli(name: string, subnet: string): string {
  const a = ['skiff', 'network', 'create'];
  if (subnet.trim()) a.push('--subnet', subnet.trim());
  return [...a.map(shellQuote), name.trim() ? shellQuote(name.trim()) : '<name>'].join(' ');
}

export async function createNetwork(name: string, subnet: string): Promise<string> {
  const r = await post('/networks/create', { json: createRequest(name, subnet) });
  return ((await r.json()) as { Id: string }).Id;
}

export async function removeNetwork(id: string): Promise<void> {
  await request(`/networks/${seg(id)}`, { method: 'DELETE' });
}
