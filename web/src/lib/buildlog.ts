// Turns docker build's JSON messages into steps for display: the text of
// {"stream"} messages is split into lines (a message may hold several lines
// or part of one), and each "Step N/M : …" line opens a step.

export interface BuildStep {
  title: string; // "RUN echo hi"
  index: number; // N of Step N/M, 0 for the preamble
  total: number;
  lines: string[];
  cached: boolean;
  started: number; // ms timestamp when seen live, 0 for a replay
  ended: number;
  failed: boolean;
}

export interface BuildMessage {
  stream?: string;
  status?: string;
  aux?: { ID?: string };
  error?: string;
  errorDetail?: { code?: number; message?: string };
}

export class BuildLog {
  steps: BuildStep[] = [];
  imageId = '';
  error = '';
  private partial = '';

  constructor(private live = false) {}

  private current(now: number): BuildStep {
    if (!this.steps.length) {
      this.steps.push({ title: '', index: 0, total: 0, lines: [], cached: false, started: now, ended: 0, failed: false });
    }
    return this.steps[this.steps.length - 1];
  }

  push(m: BuildMessage, now = this.live ? Date.now() : 0) {
    if (m.aux?.ID) this.imageId = m.aux.ID;
    if (m.errorDetail || m.error) {
      this.flushPartial(now);
      this.error = m.errorDetail?.message ?? m.error ?? 'build failed';
      const s = this.current(now);
      s.failed = true;
      s.ended = now;
      return;
    }
    const text = m.stream ?? (m.status ? m.status + '\n' : '');
    if (!text) return;
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.line(line.replace(/\r$/, ''), now);
  }

  /** Ends the log: a trailing partial line, and the last step's end time. */
  finish(now = this.live ? Date.now() : 0) {
    this.flushPartial(now);
    const last = this.steps[this.steps.length - 1];
    if (last && !last.ended) last.ended = now;
  }

  private flushPartial(now: number) {
    if (this.partial) {
      this.line(this.partial, now);
      this.partial = '';
    }
  }

  private line(line: string, now: number) {
    const m = /^Step (\d+)\/(\d+) : (.*)$/.exec(line);
    if (m) {
      const prev = this.steps[this.steps.length - 1];
      if (prev && !prev.ended) prev.ended = now;
      // Drop an empty preamble.
      if (prev && prev.index === 0 && prev.lines.length === 0) this.steps.pop();
      this.steps.push({ title: m[3], index: +m[1], total: +m[2], lines: [], cached: false, started: now, ended: 0, failed: false });
      return;
    }
    const s = this.current(now);
    if (/^ ---> Using cache$/.test(line)) s.cached = true;
    s.lines.push(line);
  }
}
