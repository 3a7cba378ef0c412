import { describe, expect, it } from 'vitest';
import { layoutTree, mergeImages, removalImpact, rowOrder, splitTag, type ImageSummary, type TreeNode } from './images';

const node = (Id: string, Children: TreeNode[] = [], RepoTags: string[] = []): TreeNode => ({ Id, ParentId: '', RepoTags, Created: 0, Size: 1, VirtualSize: 1, Containers: 0, Children });
const ctr = (Id: string, ImageID: string, State: string) => ({ Id, ImageID, State, Names: ['/' + Id], Image: '', Command: '', Created: 0, Status: '', Ports: [] });

describe('removalImpact', () => {
  const img = { Id: 'sha256:aaaa', RepoTags: ['busybox:latest', 'learn/busybox:v1'] };
  it('only untags when other tags remain', () => {
    const i = removalImpact('learn/busybox:v1', img, node('sha256:aaaa', [node('sha256:bbbb')]), [ctr('c1', 'sha256:aaaa', 'running')]);
    expect(i.untagOnly).toBe(true);
    expect(i.blocked).toBe(false);
    expect(i.otherTags).toEqual(['busybox:latest']);
  });
  it('is blocked by children and running containers, by ID', () => {
    const i = removalImpact('aaaa', img, node('sha256:aaaa', [node('sha256:bbbb')]), [ctr('c1', 'sha256:aaaa', 'running'), ctr('c2', 'sha256:aaaa', 'exited')]);
    expect(i.untagOnly).toBe(false);
    expect(i.blocked).toBe(true);
    expect(i.needsForce).toBe(true);
    expect(i.reasons).toHaveLength(4);
  });
  it('needs force for a stopped container on the last tag, and then deletes the image', () => {
    const i = removalImpact('web:1', { Id: 'sha256:cc', RepoTags: ['web:1'] }, node('sha256:cc'), [ctr('c', 'sha256:cc', 'exited')]);
    expect(i.blocked).toBe(false);
    expect(i.needsForce).toBe(true);
    expect(i.keepsImage).toBe(false);
  });
  it('needs force for a running container on the last tag, which then keeps the image', () => {
    const i = removalImpact('web:1', { Id: 'sha256:cc', RepoTags: ['web:1'] }, node('sha256:cc'), [ctr('c', 'sha256:cc', 'running')]);
    expect(i.blocked).toBe(false);
    expect(i.needsForce).toBe(true);
    expect(i.keepsImage).toBe(true);
    expect(i.reasons).toEqual(['1 container uses it (needs force)']);
  });
  it('untags the last tag of an image with children, which keep it', () => {
    const i = removalImpact('base:1', { Id: 'sha256:dd', RepoTags: ['base:1'] }, node('sha256:dd', [node('sha256:ee')]), []);
    expect(i.blocked || i.needsForce).toBe(false);
    expect(i.keepsImage).toBe(true);
  });
});

describe('layoutTree', () => {
  it('centres parents on their children', () => {
    const { nodes, width, height } = layoutTree([node('r', [node('a'), node('b', [node('c')])])], 100, 10);
    const at = Object.fromEntries(nodes.map((n) => [n.node.Id, [n.x, n.y]]));
    expect(at).toEqual({ r: [0, 5], a: [100, 0], b: [100, 10], c: [200, 10] });
    expect([width, height]).toEqual([300, 20]);
  });
});

it('splitTag', () => {
  expect(splitTag('localhost:5000/a/b:v1')).toEqual({ repo: 'localhost:5000/a/b', tag: 'v1' });
  expect(splitTag('localhost:5000/a')).toEqual({ repo: 'localhost:5000/a', tag: 'latest' });
});

describe('mergeImages', () => {
  const img = (Id: string, Created: number, RepoTags: string[] | null, Size = 1): ImageSummary => ({ Id, ParentId: '', RepoTags, Created, Size, Containers: 0 });
  const newest = rowOrder('created', -1);
  const start = [img('sha256:b', 20, ['b:1', 'b:2']), img('sha256:a', 10, null)];
  const { images, rows } = mergeImages([], [], start, newest);

  it('builds the rows of a first list in order: one per tag, <none> for none', () => {
    expect(rows.map((r) => r.ref)).toEqual(['b:2', 'b:1', 'sha256:a']);
    expect(rows[2].repo).toBe('<none>');
    expect(images).toEqual(start);
  });
  it('keeps everything as it was when nothing changed', () => {
    const again = mergeImages(images, rows, start.map((i) => ({ ...i })), newest);
    expect(again.images).toBe(images);
    expect(again.rows).toBe(rows);
  });
  it('replaces only the rows of changed images, adds new ones in order and drops removed ones', () => {
    const fresh = [img('sha256:c', 15, ['c:1']), img('sha256:b', 20, ['b:1'])];
    const next = mergeImages(images, rows, fresh, newest);
    expect(next.rows.map((r) => r.ref)).toEqual(['b:1', 'c:1']);
    const same = mergeImages(next.images, next.rows, [...fresh, img('sha256:d', 5, ['d:1'])], newest);
    expect(same.rows[0]).toBe(next.rows[0]);
    expect(same.rows[1]).toBe(next.rows[1]);
    expect(same.rows.map((r) => r.ref)).toEqual(['b:1', 'c:1', 'd:1']);
  });
  it('sorts by another column with the reference breaking ties', () => {
    const bySize = mergeImages([], [], [img('x', 1, ['x:1'], 5), img('y', 2, ['y:1'], 9), img('z', 3, ['w:1'], 5)], rowOrder('size', 1));
    expect(bySize.rows.map((r) => r.ref)).toEqual(['w:1', 'x:1', 'y:1']);
  });
});
