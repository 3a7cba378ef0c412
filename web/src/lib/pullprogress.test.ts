import { describe, expect, it } from 'vitest';
import { hasRegistryHost, needsLogin, phaseOf, Progress, registryHost, searchResultRef } from './pullprogress';

const step = (id: string, status: string, current = 0, total = 0) => ({ status, id, progressDetail: { current, total } });

describe('Progress', () => {
  it('follows a pull layer by layer, as the daemon streams it', () => {
    const p = new Progress();
    p.push({ status: 'Pulling from test/busybox', id: 'v1' });
    p.push(step('a6b62388090f', 'Pulling fs layer'));
    p.push(step('0c1d2e3f4a5b', 'Already exists'));
    p.push(step('a6b62388090f', 'Downloading', 500, 2000));
    expect(p.header).toBe('v1: Pulling from test/busybox');
    expect(p.layers.map((l) => [l.id, l.phase, l.current, l.total])).toEqual([
      ['a6b62388090f', 'active', 500, 2000],
      ['0c1d2e3f4a5b', 'exists', 0, 0],
    ]);
    let o = p.overall();
    expect(o).toMatchObject({ finished: 1, layers: 2, current: 500, total: 2000 });
    expect(o.fraction).toBeCloseTo((0.25 + 1) / 2);

    // The steps after the bytes carry no counts: the layer stays full.
    p.push(step('a6b62388090f', 'Verifying Checksum'));
    p.push(step('a6b62388090f', 'Download complete'));
    expect(p.layers[0]).toMatchObject({ phase: 'active', current: 2000, total: 2000 });
    expect(p.overall().fraction).toBeLessThan(1);
    p.push(step('a6b62388090f', 'Pull complete'));
    p.push({ status: 'Digest: sha256:b502' });
    p.push({ status: 'Status: Downloaded newer image for 127.0.0.1:5000/test/busybox:v1' });
    expect(p.succeeded).toBe(false);
    p.push({ aux: { ID: 'sha256:8a91', Digest: 'sha256:b502', Ref: '127.0.0.1:5000/test/busybox:v1', UpToDate: false } });
    o = p.overall();
    expect(o).toMatchObject({ finished: 2, layers: 2, current: 2000, total: 2000, fraction: 1 });
    expect(p.notes).toEqual(['Digest: sha256:b502', 'Status: Downloaded newer image for 127.0.0.1:5000/test/busybox:v1']);
    expect(p.succeeded).toBe(true);
    expect(p.result?.ID).toBe('sha256:8a91');
  });

  it('follows a push, with its layers already there and its tag line', () => {
    const p = new Progress();
    p.push({ status: 'The push refers to repository [127.0.0.1:5000/web]' });
    p.push(step('aaa', 'Preparing'));
    p.push(step('bbb', 'Preparing'));
    p.push(step('aaa', 'Waiting'));
    p.push(step('bbb', 'Mounted from library/busybox'));
    p.push(step('aaa', 'Pushing', 100, 400));
    expect(p.layers.map((l) => l.phase)).toEqual(['active', 'exists']);
    p.push(step('aaa', 'Pushed'));
    p.push({ status: 'v1: digest: sha256:cafe size: 527' });
    p.push({ aux: { Tag: 'v1', Digest: 'sha256:cafe', Size: 527 } });
    expect(p.header).toBe('The push refers to repository [127.0.0.1:5000/web]');
    expect(p.notes).toEqual(['v1: digest: sha256:cafe size: 527']);
    expect(p.overall()).toMatchObject({ finished: 2, layers: 2, current: 400, total: 400, fraction: 1 });
    expect(p.succeeded).toBe(true);
  });

  it('keeps the error, with its code', () => {
    const p = new Progress();
    p.push({ errorDetail: { code: 401, message: 'unauthorized: authentication required' }, error: 'unauthorized: authentication required' });
    expect(p.error).toEqual({ message: 'unauthorized: authentication required', code: 401 });
    expect(p.succeeded).toBe(false);
    const old = new Progress();
    old.push({ error: 'only the old field' });
    expect(old.error).toEqual({ message: 'only the old field', code: undefined });
  });

  it('counts nothing before the first layer', () => {
    expect(new Progress().overall()).toEqual({ finished: 0, layers: 0, current: 0, total: 0, fraction: 0 });
  });
});

it('names the phases of Docker’s steps', () => {
  expect(['Pulling fs layer', 'Waiting', 'Preparing', 'Downloading', 'Extracting', 'Pushing', 'Pull complete', 'Pushed', 'Already exists', 'Layer already exists', 'Mounted from library/busybox'].map(phaseOf))
    .toEqual(['waiting', 'waiting', 'waiting', 'active', 'active', 'active', 'done', 'done', 'exists', 'exists', 'exists']);
});

it('tells a registry asking for credentials', () => {
  expect(needsLogin({ message: 'x', code: 401 })).toBe(true);
  expect(needsLogin({ message: 'unauthorized: authentication required' })).toBe(true);
  expect(needsLogin({ message: "pull access denied for nope, repository does not exist or may require 'docker login'" })).toBe(true);
  expect(needsLogin({ message: 'denied: requested access to the resource is denied' })).toBe(true);
  expect(needsLogin({ message: 'manifest unknown', code: 404 })).toBe(false);
  expect(needsLogin(null)).toBe(false);
});

it('reads the registry host of a reference as Docker does', () => {
  const cases: [string, string, boolean][] = [
    ['busybox', 'docker.io', false],
    ['library/busybox:latest', 'docker.io', false],
    ['127.0.0.1:5000/test/busybox:v1', '127.0.0.1:5000', true],
    ['registry.example.com/team/app@sha256:abc', 'registry.example.com', true],
    ['localhost/app', 'localhost', true],
    ['index.docker.io/library/busybox', 'docker.io', true],
  ];
  for (const [ref, host, named] of cases) {
    expect(registryHost(ref), ref).toBe(host);
    expect(hasRegistryHost(ref), ref).toBe(named);
  }
});

it('pulls a search result from the registry searched', () => {
  expect(searchResultRef('busybox', 'busybox')).toBe('busybox');
  expect(searchResultRef('busybox', 'library/busybox')).toBe('library/busybox');
  expect(searchResultRef('127.0.0.1:5000/team', 'team/app')).toBe('127.0.0.1:5000/team/app');
  expect(searchResultRef('127.0.0.1:5000/team', '127.0.0.1:5000/team/app')).toBe('127.0.0.1:5000/team/app');
});
