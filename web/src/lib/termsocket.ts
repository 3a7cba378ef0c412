// The terminal websocket protocol: binary frames carry the terminal's
// bytes both ways, text frames JSON control messages. A dropped connection
// reconnects with backoff, with the exec session's ID so the server can
// replay the screen.

export type Control =
  | { type: 'session'; id: string }
  | { type: 'exit'; code: number }
  | { type: 'error'; message: string }
  | { type: 'detached' }
  | { type: string; [k: string]: unknown };

export interface TermSocketOptions {
  /** Builds the URL for a connection; session is the exec session to resume. */
  url: (size: { rows: number; cols: number }, session: string) => string;
  size: () => { rows: number; cols: number };
  onData: (data: Uint8Array) => void;
  onControl: (c: Control) => void;
  /** Status lines for the user: connecting, reconnecting in Ns, gave up. */
  onStatus: (s: TermStatus) => void;
  /** A fresh connection after a drop: the server replays the screen. */
  onReconnect?: (resumed: boolean) => void;
  maxAttempts?: number;
  WebSocketImpl?: typeof WebSocket;
}

export type TermStatus =
  | { kind: 'connecting' }
  | { kind: 'open' }
  | { kind: 'retrying'; inMs: number; attempt: number }
  | { kind: 'failed' }
  | { kind: 'ended'; reason: 'exit' | 'error' | 'detached' | 'closed' };

/** Backoff before reconnect attempt n (1-based): 0.5s, 1s, 2s, 4s, 8s, 10s… */
export function backoff(attempt: number): number {
  return Math.min(500 * 2 ** (attempt - 1), 10_000);
}

export class TermSocket {
  private ws: WebSocket | null = null;
  private session = '';
  private ended = false;
  private attempt = 0;
  private everOpened = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private enc = new TextEncoder();

  constructor(private o: TermSocketOptions) {}

  get sessionId(): string {
    return this.session;
  }

  connect() {
    this.ended = false;
    this.open();
  }

  private open() {
    const WS = this.o.WebSocketImpl ?? WebSocket;
    this.o.onStatus({ kind: 'connecting' });
    const ws = new WS(this.o.url(this.o.size(), this.session));
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    const reconnecting = this.everOpened;
    ws.onopen = () => {
      this.attempt = 0;
      this.o.onStatus({ kind: 'open' });
      if (reconnecting) this.o.onReconnect?.(this.session !== '');
      this.everOpened = true;
      // The size may have changed while we were away.
      this.resize(this.o.size());
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data === 'string') {
        let c: Control;
        try {
          c = JSON.parse(ev.data);
        } catch {
          return;
        }
        if (c.type === 'session' && typeof c.id === 'string') this.session = c.id;
        if (c.type === 'exit' || c.type === 'error' || c.type === 'detached') {
          this.ended = true;
          this.o.onStatus({ kind: 'ended', reason: c.type });
        }
        this.o.onControl(c);
      } else {
        this.o.onData(new Uint8Array(ev.data as ArrayBuffer));
      }
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.ended) return;
      // A normal close without an exit message: the server ended the session.
      if (ev.code === 1000 && this.everOpened) {
        this.ended = true;
        this.o.onStatus({ kind: 'ended', reason: 'closed' });
        return;
      }
      this.attempt++;
      if (this.attempt > (this.o.maxAttempts ?? 8)) {
        this.o.onStatus({ kind: 'failed' });
        return;
      }
      const inMs = backoff(this.attempt);
      this.o.onStatus({ kind: 'retrying', inMs, attempt: this.attempt });
      this.timer = setTimeout(() => this.open(), inMs);
    };
  }

  send(data: string | Uint8Array) {
    if (this.ws?.readyState !== 1) return;
    this.ws.send(typeof data === 'string' ? this.enc.encode(data) : data);
  }

  resize(size: { rows: number; cols: number }) {
    if (this.ws?.readyState !== 1) return;
    this.ws.send(JSON.stringify({ type: 'resize', rows: size.rows, cols: size.cols }));
  }

  /** Closes for good: no reconnect. */
  close() {
    this.ended = true;
    clearTimeout(this.timer);
    this.ws?.close(1000);
    this.ws = null;
  }

  /** Stops reconnecting and reports why (e.g. the container stopped). */
  end(reason: 'closed') {
    this.ended = true;
    clearTimeout(this.timer);
    this.o.onStatus({ kind: 'ended', reason });
  }
}
