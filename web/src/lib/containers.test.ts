import { describe, expect, it } from 'vitest';
import { newestFirst, portLinks, portsFromInspect, removeContainer, upsertContainer, type ContainerSummary } from './containers';

const ctr = (Id: string, Created: number, State = 'created'): ContainerSummary =>
  ({ Id, Created, State, Names: ['/' + Id], Image: 'busybox', ImageID: '', Command: '', Status: '', Ports: [] });

describe('the live containers list', () => {
  const list = [ctr('c', 30), ctr('b', 20), ctr('a', 10)];

  it('replaces a changed container in place, keeping the other entries', () => {
    const next = upsertContainer(list, ctr('b', 20, 'running'));
    expect(next.map((c) => c.Id)).toEqual(['c', 'b', 'a']);
    expect(next[1].State).toBe('running');
    expect(next[0]).toBe(list[0]);
    expect(next[2]).toBe(list[2]);
    expect(list[1].State).toBe('created');
  });
  it('inserts a new container where it sorts, newest first', () => {
    expect(upsertContainer(list, ctr('d', 40)).map((c) => c.Id)).toEqual(['d', 'c', 'b', 'a']);
    expect(upsertContainer(list, ctr('m', 15)).map((c) => c.Id)).toEqual(['c', 'b', 'm', 'a']);
    expect(upsertContainer([], ctr('m', 15)).map((c) => c.Id)).toEqual(['m']);
  });
  it('removes a container, and leaves the list alone for an unknown one', () => {
    expect(removeContainer(list, 'b').map((c) => c.Id)).toEqual(['c', 'a']);
    expect(removeContainer(list, 'zz')).toBe(list);
  });
  it('orders ties by ID', () => {
    expect([ctr('y', 5), ctr('x', 5), ctr('z', 9)].sort(newestFirst).map((c) => c.Id)).toEqual(['z', 'x', 'y']);
  });
});

describe('published ports as links', () => {
  it('links a port on every address at the dashboard’s own host, once for 0.0.0.0 and ::', () => {
    const ports = [
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    ];
    const links = portLinks(ports, 'skiff.example');
    expect(links.map((l) => [l.href, l.text])).toEqual([['http://skiff.example:8080/', '8080→80']]);
    expect(portLinks(ports, '::1')[0].href).toBe('http://[::1]:8080/');
  });
  it('links a loopback port only when the dashboard is on loopback too', () => {
    const ports = [{ IP: '127.0.0.1', PrivatePort: 80, PublicPort: 9090, Type: 'tcp' }];
    expect(portLinks(ports, '127.0.0.1')[0].href).toBe('http://127.0.0.1:9090/');
    expect(portLinks(ports, 'localhost')[0].href).toBe('http://127.0.0.1:9090/');
    const far = portLinks(ports, 'skiff.example')[0];
    expect(far.href).toBe('');
    expect(far.title).toMatch(/daemon's host only/);
  });
  it('links another address as it is, lists udp and unpublished ports without a link', () => {
    const links = portLinks([
      { IP: '192.0.2.7', PrivatePort: 80, PublicPort: 8081, Type: 'tcp' },
      { IP: '0.0.0.0', PrivatePort: 53, PublicPort: 5353, Type: 'udp' },
      { PrivatePort: 443, Type: 'tcp' },
    ], 'skiff.example');
    expect(links.map((l) => [l.href, l.text])).toEqual([['http://192.0.2.7:8081/', '8081→80'], ['', '5353→53/udp']]);
  });
  it('reads inspect’s port map', () => {
    expect(portsFromInspect({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '9090' }], '53/udp': null })).toEqual([
      { PrivatePort: 53, Type: 'udp' },
      { IP: '127.0.0.1', PrivatePort: 80, PublicPort: 9090, Type: 'tcp' },
    ]);
    expect(portsFromInspect(undefined)).toEqual([]);
  });
});
