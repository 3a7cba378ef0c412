import { describe, expect, it } from 'vitest';
import { LineSplitter, StdcopyDemuxer } from './stdcopy';

function frame(stream: number, text: string): Uint8Array {
  const data = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + data.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, data.length);
  out.set(data, 8);
  return out;
}
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe('StdcopyDemuxer', () => {
  it('splits whole frames', () => {
    const d = new StdcopyDemuxer();
    const a = frame(1, 'out\n');
    const b = frame(2, 'err\n');
    const both = new Uint8Array(a.length + b.length);
    both.set(a);
    both.set(b, a.length);
    const got = d.push(both);
    expect(got.map((f) => [f.stream, dec(f.data)])).toEqual([
      [1, 'out\n'],
      [2, 'err\n'],
    ]);
    expect(d.pending).toBe(0);
  });

  it('reassembles frames split at every byte', () => {
    const d = new StdcopyDemuxer();
    const all = new Uint8Array([...frame(1, 'hello '), ...frame(2, 'world'), ...frame(1, '')]);
    const got: string[] = [];
    for (let i = 0; i < all.length; i++) {
      for (const f of d.push(all.subarray(i, i + 1))) got.push(`${f.stream}:${dec(f.data)}`);
    }
    expect(got).toEqual(['1:hello ', '2:world', '1:']);
  });

  it('handles lengths above 2^24', () => {
    const d = new StdcopyDemuxer();
    const hdr = new Uint8Array([1, 0, 0, 0, 0x01, 0, 0, 2]);
    expect(d.push(hdr)).toEqual([]);
    expect(d.pending).toBe(8);
  });

  it('rejects a bad stream id', () => {
    expect(() => new StdcopyDemuxer().push(new Uint8Array([9, 0, 0, 0, 0, 0, 0, 0]))).toThrow();
  });
});

describe('LineSplitter', () => {
  it('keeps partial lines and multi-byte characters across chunks', () => {
    const s = new LineSplitter();
    const bytes = new TextEncoder().encode('ä1\r\nzwei\ndr');
    expect(s.push(bytes.subarray(0, 1))).toEqual([]);
    expect(s.push(bytes.subarray(1))).toEqual(['ä1', 'zwei']);
    expect(s.flush()).toBe('dr');
    expect(s.flush()).toBe(null);
  });
});
