import { describe, expect, it } from 'vitest';
import { layoutTree, removalImpact, splitTag, type TreeNode } from './images';

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
  it('needs force for a stopped container on the last tag', () => {
    const i = removalImpact('web:1', { Id: 'sha256:cc', RepoTags: ['web:1'] }, node('sha256:cc'), [ctr('c', 'sha256:cc', 'exited')]);
    expect(i.blocked).toBe(false);
    expect(i.needsForce).toBe(true);
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
