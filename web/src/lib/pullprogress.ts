// Folds Docker's JSON progress messages (what POST /images/create and
// POST /images/{name}/push stream, and the dashboard's pull and push
// websockets send one a frame) into per-layer state for the progress
// dialog: each layer's step and bytes, the lines without a layer, the
// error, and the result.

export interface JSONMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  errorDetail?: { code?: number; message?: string };
  error?: string;
  aux?: Record<string, unknown>;
  stream?: string;
}

/**
 * Where a layer is: waiting its turn, moving bytes, finished, already there
 * (not moved at all: "Already exists", "Layer already exists", "Mounted
 * from"), or stopped by an error.
 */
export type Phase = 'waiting' | 'active' | 'done' | 'exists';

export interface Layer {
  id: string;
  status: string;
  phase: Phase;
  current: number;
  total: number;
}

export interface Overall {
  /** Layers finished or already there, of all the layers. */
  finished: number;
  layers: number;
  /** Bytes moved, of the bytes known to move (layers already there excluded). */
  current: number;
  total: number;
  /** 0 to 1: the mean of the layers' own fractions. */
  fraction: number;
}

export interface Snapshot {
  layers: Layer[];
  overall: Overall;
  header: string;
  notes: string[];
  error: { message: string; code?: number } | null;
  result: Record<string, unknown> | null;
}

const waiting = new Set(['Pulling fs layer', 'Waiting', 'Preparing']);
const done = new Set(['Pull complete', 'Pushed']);
const exists = new Set(['Already exists', 'Layer already exists']);
// Steps after the bytes are in: the bar stays full.
const transferred = new Set(['Verifying Checksum', 'Download complete', 'Extracting', 'Pull complete', 'Pushed']);
// Steps whose progressDetail counts the layer's bytes.
const counting = new Set(['Downloading', 'Pushing']);

export function phaseOf(status: string): Phase {
  if (waiting.has(status)) return 'waiting';
  if (done.has(status)) return 'done';
  if (exists.has(status) || status.startsWith('Mounted from')) return 'exists';
  return 'active';
}

export class Progress {
  layers: Layer[] = [];
  /** Lines without a layer, in order: "Digest: …", "Status: …", the push's "v1: digest: … size: …". */
  notes: string[] = [];
  /** "v1: Pulling from test/busybox", or "The push refers to repository […]". */
  header = '';
  error: { message: string; code?: number } | null = null;
  result: Record<string, unknown> | null = null;
  private byId = new Map<string, Layer>();

  push(m: JSONMessage): void {
    if (m.errorDetail || m.error) {
      this.error = { message: m.errorDetail?.message || m.error || 'unknown error', code: m.errorDetail?.code };
      return;
    }
    if (m.aux) {
      this.result = m.aux;
      return;
    }
    const status = m.status ?? '';
    if (!status) return;
    if (status.startsWith('Pulling from ') || status.startsWith('The push refers to ')) {
      this.header = m.id ? `${m.id}: ${status}` : status;
      return;
    }
    if (!m.id || /^digest: /.test(status)) {
      // A push's last line may name its tag as the id: "v1: digest: sha256:… size: 527".
      this.notes.push(m.id ? `${m.id}: ${status}` : status);
      return;
    }
    let l = this.byId.get(m.id);
    if (!l) {
      l = { id: m.id, status, phase: 'waiting', current: 0, total: 0 };
      this.byId.set(m.id, l);
      this.layers.push(l);
    }
    l.status = status;
    l.phase = phaseOf(status);
    const d = m.progressDetail;
    if (counting.has(status) && d) {
      if ((d.total ?? 0) > 0) l.total = d.total!;
      l.current = Math.max(0, d.current ?? 0);
    } else if (transferred.has(status) && l.total > 0) {
      l.current = l.total;
    }
  }

  /** Whether the stream delivered its result (a finished pull or push). */
  get succeeded(): boolean {
    return !this.error && this.result !== null;
  }

  /** A copy of the state, for a page to draw: Progress itself changes in place. */
  snapshot(): Snapshot {
    return {
      layers: this.layers.map((l) => ({ ...l })),
      overall: this.overall(),
      header: this.header,
      notes: [...this.notes],
      error: this.error,
      result: this.result,
    };
  }

  overall(): Overall {
    let finished = 0;
    let current = 0;
    let total = 0;
    let sum = 0;
    for (const l of this.layers) {
      if (l.phase === 'done' || l.phase === 'exists') {
        finished++;
        sum += 1;
      } else if (l.total > 0) {
        // Done only when the step says so: bytes in is not yet stored.
        sum += Math.min(l.current / l.total, 0.99);
      }
      if (l.phase !== 'exists' && l.total > 0) {
        total += l.total;
        current += Math.min(l.current, l.total);
      }
    }
    const n = this.layers.length;
    return { finished, layers: n, current, total, fraction: this.result ? 1 : n ? sum / n : 0 };
  }
}

/**
 * Whether an error is the registry asking for credentials: Docker's
 * "unauthorized: authentication required", "pull access denied … may
 * require 'docker login'", "denied: requested access to the resource is
 * denied", or a 401.
 */
export function needsLogin(e: { message: string; code?: number } | null): boolean {
  if (!e) return false;
  if (e.code === 401) return true;
  return /unauthori[sz]ed|authentication required|access denied|access to the resource is denied|docker login|no basic auth credentials/i.test(e.message);
}

/**
 * The registry host of an image reference, as Docker reads it: the first
 * path component when it looks like a host (a dot or a port, or
 * localhost), else Docker Hub, "docker.io".
 */
export function registryHost(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash < 0) return 'docker.io';
  const first = ref.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost') return first === 'index.docker.io' ? 'docker.io' : first;
  return 'docker.io';
}

/** A reference with its registry host, for pushing: whether one was named. */
export function hasRegistryHost(ref: string): boolean {
  const slash = ref.indexOf('/');
  if (slash < 0) return false;
  const first = ref.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost';
}

/**
 * The reference to pull for a search result: a registry's catalog may
 * answer with repository paths alone ("team/app"), which belong to the
 * registry the search named ("127.0.0.1:5000/team" searched), not to
 * Docker Hub.
 */
export function searchResultRef(term: string, name: string): string {
  if (hasRegistryHost(name) || !hasRegistryHost(term)) return name;
  return `${registryHost(term)}/${name}`;
}
