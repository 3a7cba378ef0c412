// Small formatting helpers shared by the pages.

const units = ['B', 'kB', 'MB', 'GB', 'TB'];

/** Bytes with decimal units, as the docker CLI prints sizes (1.98MB). */
export function bytes(n: number): string {
  if (!isFinite(n) || n < 0) return '—';
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  const digits = i === 0 ? 0 : n < 10 ? 2 : n < 100 ? 1 : 0;
  return `${n.toFixed(digits)} ${units[i]}`;
}

/** Bytes with binary units, as docker stats prints memory (12.3MiB). */
export function ibytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : n < 10 ? 2 : 1)} ${u[i]}`;
}

/** "3 minutes ago" from unix seconds or an ISO date. */
export function ago(t: number | string, now = Date.now()): string {
  const ms = typeof t === 'number' ? t * 1000 : Date.parse(t);
  if (!isFinite(ms) || ms <= 0) return '—';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} seconds ago`;
  const m = Math.round(s / 60);
  if (m < 60) return m === 1 ? 'a minute ago' : `${m} minutes ago`;
  const h = Math.round(m / 60);
  if (h < 48) return h === 1 ? 'an hour ago' : `${h} hours ago`;
  const d = Math.round(h / 24);
  if (d < 60) return `${d} days ago`;
  const mo = Math.round(d / 30);
  if (mo < 24) return `${mo} months ago`;
  return `${Math.round(d / 365)} years ago`;
}

/** A duration in ms as 1.2s / 340ms / 2m 05s. */
export function duration(ms: number): string {
  if (!isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m ${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/** The 12-hex-digit short form of an ID, without sha256:. */
export function shortId(id: string | undefined | null): string {
  if (!id) return '';
  return id.replace(/^sha256:/, '').slice(0, 12);
}

export function localTime(t: number | string): string {
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
  return isNaN(d.getTime()) ? '—' : d.toLocaleString();
}
