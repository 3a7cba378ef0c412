import { describe, expect, it } from 'vitest';
import { cleanPath, createTar, readTar } from './tar';

const text = (s: string) => new TextEncoder().encode(s);

describe('createTar', () => {
  it('writes entries a reader gets back, in 512-byte blocks', () => {
    const t = createTar([
      { path: 'Dockerfile', data: text('FROM busybox\n') },
      { path: 'app/', type: 'dir' },
      { path: './app/run.sh', data: text('#!/bin/sh\necho hi\n'), mode: 0o755 },
    ]);
    expect(t.length % 512).toBe(0);
    const got = readTar(t);
    expect(got.map((e) => [e.path, e.type, e.size])).toEqual([
      ['Dockerfile', '0', 13],
      ['app/', '5', 0],
      ['app/run.sh', '0', 18],
    ]);
    expect(new TextDecoder().decode(got[2].data)).toBe('#!/bin/sh\necho hi\n');
    // ustar magic and a valid checksum
    expect(new TextDecoder().decode(t.subarray(257, 262))).toBe('ustar');
    const h = t.slice(0, 512);
    const stored = parseInt(new TextDecoder().decode(h.subarray(148, 154)), 8);
    h.fill(0x20, 148, 156);
    expect(h.reduce((a, b) => a + b, 0)).toBe(stored);
    // mode is octal
    expect(new TextDecoder().decode(t.subarray(1536 + 100, 1536 + 107))).toBe('0000755');
  });

  it('uses the ustar prefix, then PAX, for long names', () => {
    const mid = 'd'.repeat(90) + '/' + 'e'.repeat(60) + '/f.txt';
    const huge = 'x'.repeat(120) + '/' + 'y'.repeat(120);
    const got = readTar(createTar([{ path: mid, data: text('1') }, { path: huge, data: text('2') }]));
    expect(got.map((e) => e.path)).toEqual([mid, huge]);
  });

  it('is deterministic', () => {
    const a = createTar([{ path: 'a', data: text('x') }]);
    const b = createTar([{ path: 'a', data: text('x') }]);
    expect(a).toEqual(b);
  });

  it('refuses paths leaving the context', () => {
    expect(() => cleanPath('a/../../etc')).toThrow();
    expect(cleanPath('/a//b/./c')).toBe('a/b/c');
  });
});
