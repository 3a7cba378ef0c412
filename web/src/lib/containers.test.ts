import { describe, expect, it } from 'vitest';
import { newestFirst, removeContainer, upsertContainer, type ContainerSummary } from './containers';

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
