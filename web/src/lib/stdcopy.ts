// Demultiplexes Docker's stdcopy framing (logs, attach and exec of non-tty
// containers): each frame is an 8-byte header — stream (0 stdin, 1 stdout,
// 2 stderr, 3 system error), three zero bytes, big-endian uint32 length —
// followed by that many payload bytes. Frames may be split across chunks
// arbitrarily, so the demuxer buffers partial headers and payloads.

export type StreamId = 0 | 1 | 2 | 3;

export interface Frame {
  stream: StreamId;
  data: Uint8Array;
}

export class StdcopyDemuxer {
  private buf: Uint8Array = new Uint8Array(0);

  /** Feeds a chunk and returns the frames it completes. */
  push(chunk: Uint8Array): Frame[] {
    if (this.buf.length === 0) {
      this.buf = chunk;
    } else {
      const joined = new Uint8Array(this.buf.length + chunk.length);
      joined.set(this.buf, 0);
      joined.set(chunk, this.buf.length);
      this.buf = joined;
    }
    const frames: Frame[] = [];
    let off = 0;
    while (this.buf.length - off >= 8) {
      const stream = this.buf[off];
      if (stream > 3) {
        throw new Error(`stdcopy: invalid stream id ${stream}`);
      }
      const len =
        ((this.buf[off + 4] << 24) >>> 0) +
        (this.buf[off + 5] << 16) +
        (this.buf[off + 6] << 8) +
        this.buf[off + 7];
      if (this.buf.length - off - 8 < len) break;
      frames.push({ stream: stream as StreamId, data: this.buf.subarray(off + 8, off + 8 + len) });
      off += 8 + len;
    }
    // Keep only the unconsumed tail (copied, so frames stay valid).
    this.buf = off === 0 ? this.buf : this.buf.slice(off);
    return frames;
  }

  /** Bytes held back waiting for the rest of a frame. */
  get pending(): number {
    return this.buf.length;
  }
}

/**
 * Splits a stream of text chunks into lines, per stream, keeping the
 * trailing partial line until its newline arrives.
 */
export class LineSplitter {
  private partial = '';
  private decoder = new TextDecoder();

  push(data: Uint8Array): string[] {
    const text = this.partial + this.decoder.decode(data, { stream: true });
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    return parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  }

  /** Returns the last unterminated line, if any, and resets. */
  flush(): string | null {
    const rest = this.partial + this.decoder.decode();
    this.partial = '';
    return rest === '' ? null : rest;
  }
}
