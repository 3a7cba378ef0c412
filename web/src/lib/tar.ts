// Writes POSIX ustar archives in the browser, for build contexts made from
// a folder upload or from the Dockerfile editor. Names longer than ustar
// allows get a PAX extended header. Output is deterministic for a given
// input (mtime is taken from the entry, default 0).

export interface TarEntry {
  path: string; // relative, '/'-separated; a trailing '/' or type 'dir' makes a directory
  data?: Uint8Array;
  mode?: number;
  mtime?: number; // unix seconds
  type?: 'file' | 'dir';
}

const enc = new TextEncoder();

function writeString(h: Uint8Array, off: number, len: number, s: string) {
  const b = enc.encode(s);
  h.set(b.subarray(0, len), off);
}

function writeOctal(h: Uint8Array, off: number, len: number, n: number) {
  // len-1 octal digits, then NUL
  const s = Math.max(0, Math.floor(n)).toString(8).padStart(len - 1, '0');
  writeString(h, off, len - 1, s);
  h[off + len - 1] = 0;
}

function header(name: string, size: number, mode: number, mtime: number, typeflag: string, prefix = ''): Uint8Array {
  const h = new Uint8Array(512);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, mode);
  writeOctal(h, 108, 8, 0); // uid
  writeOctal(h, 116, 8, 0); // gid
  writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, mtime);
  h.fill(0x20, 148, 156); // checksum placeholder: spaces
  writeString(h, 156, 1, typeflag);
  writeString(h, 257, 6, 'ustar');
  h[262] = 0;
  writeString(h, 263, 2, '00');
  writeString(h, 345, 155, prefix);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i];
  const cs = sum.toString(8).padStart(6, '0');
  writeString(h, 148, 6, cs);
  h[154] = 0;
  h[155] = 0x20;
  return h;
}

/** Splits a long path into ustar's prefix (≤155) and name (≤100), or null. */
function splitUstar(p: string): [string, string] | null {
  const b = enc.encode(p);
  if (b.length <= 100) return ['', p];
  for (let i = p.length - 1; i > 0; i--) {
    if (p[i] !== '/') continue;
    const prefix = p.slice(0, i);
    const name = p.slice(i + 1);
    if (enc.encode(prefix).length <= 155 && enc.encode(name).length <= 100 && name !== '') {
      return [prefix, name];
    }
  }
  return null;
}

function paxRecord(key: string, value: string): string {
  // "%d %s=%s\n" where %d counts the whole record, itself included
  const body = ` ${key}=${value}\n`;
  let len = enc.encode(body).length;
  let n = len + String(len).length;
  if (String(n).length !== String(len).length) n = len + String(n).length;
  return `${n}${body}`;
}

function pad(n: number): number {
  return (512 - (n % 512)) % 512;
}

/** Normalises a path: no leading './' or '/', no '..' components. */
export function cleanPath(p: string): string {
  const parts: string[] = [];
  for (const seg of p.replace(/\\/g, '/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') throw new Error(`path "${p}" leaves the context`);
    parts.push(seg);
  }
  return parts.join('/');
}

/** Builds a tar archive from the entries, in the given order. */
export function createTar(entries: TarEntry[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const e of entries) {
    const isDir = e.type === 'dir' || e.path.endsWith('/');
    let p = cleanPath(e.path);
    if (p === '') continue;
    if (isDir) p += '/';
    const data = isDir ? new Uint8Array(0) : (e.data ?? new Uint8Array(0));
    const mode = e.mode ?? (isDir ? 0o755 : 0o644);
    const mtime = e.mtime ?? 0;
    const type = isDir ? '5' : '0';
    const split = splitUstar(p);
    if (split) {
      chunks.push(header(split[1], data.length, mode, mtime, type, split[0]));
    } else {
      const pax = enc.encode(paxRecord('path', p));
      chunks.push(header('PaxHeader', pax.length, 0o644, mtime, 'x'));
      chunks.push(pax, new Uint8Array(pad(pax.length)));
      chunks.push(header(p.slice(0, 100), data.length, mode, mtime, type));
    }
    if (data.length) {
      chunks.push(data, new Uint8Array(pad(data.length)));
    }
  }
  chunks.push(new Uint8Array(1024)); // two zero blocks end the archive
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Lists a ustar/pax archive's entries (for tests and previews). */
export function readTar(buf: Uint8Array): { path: string; size: number; type: string; data: Uint8Array }[] {
  const dec = new TextDecoder();
  const str = (off: number, len: number) => {
    const s = buf.subarray(off, off + len);
    const z = s.indexOf(0);
    return dec.decode(z >= 0 ? s.subarray(0, z) : s);
  };
  const out: { path: string; size: number; type: string; data: Uint8Array }[] = [];
  let off = 0;
  let paxPath: string | null = null;
  while (off + 512 <= buf.length) {
    if (buf.subarray(off, off + 512).every((b) => b === 0)) break;
    const name = str(off, 100);
    const size = parseInt(str(off + 124, 12).trim() || '0', 8);
    const type = str(off + 156, 1) || '0';
    const prefix = str(off + 345, 155);
    const data = buf.subarray(off + 512, off + 512 + size);
    off += 512 + size + pad(size);
    if (type === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(dec.decode(data));
      paxPath = m ? m[1] : null;
      continue;
    }
    out.push({ path: paxPath ?? (prefix ? `${prefix}/${name}` : name), size, type, data });
    paxPath = null;
  }
  return out;
}
