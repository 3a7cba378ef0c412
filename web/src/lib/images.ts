// Image types, the lineage tree's layout, and what removing an image would
// touch — worked out before asking the daemon, so the user sees it first.
import type { ContainerSummary } from './containers';
import { insertSorted } from './sorted';

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[] | null;
  Created: number;
  Size: number;
  Containers: number;
}

export interface TreeNode {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  Created: number;
  Size: number;
  VirtualSize: number;
  Containers: number;
  Children: TreeNode[];
}

export function splitTag(ref: string): { repo: string; tag: string } {
  const at = ref.lastIndexOf(':');
  if (at > ref.lastIndexOf('/') && at > 0) return { repo: ref.slice(0, at), tag: ref.slice(at + 1) };
  return { repo: ref, tag: 'latest' };
}

export type SortKey = 'repo' | 'tag' | 'id' | 'created' | 'size';

/** A line of the images list: one per tag, or one <none> line for an untagged image. */
export interface ImageRow {
  repo: string;
  tag: string;
  ref: string;
  img: ImageSummary;
}

export function rowsOf(img: ImageSummary): ImageRow[] {
  const tags = (img.RepoTags ?? []).filter((x) => x !== '<none>:<none>');
  if (!tags.length) return [{ repo: '<none>', tag: '<none>', ref: img.Id, img }];
  return tags.map((t) => ({ ...splitTag(t), ref: t, img }));
}

/** Orders rows by a column, ties broken by the reference. */
export function rowOrder(key: SortKey, dir: 1 | -1): (a: ImageRow, b: ImageRow) => number {
  const value = (r: ImageRow): string | number =>
    key === 'repo' ? r.repo : key === 'tag' ? r.tag : key === 'id' ? r.img.Id : key === 'created' ? r.img.Created : r.img.Size;
  return (a, b) => {
    const va = value(a), vb = value(b);
    return (va < vb ? -1 : va > vb ? 1 : a.ref.localeCompare(b.ref)) * dir;
  };
}

/** Whether an image would be listed exactly as before. */
function sameListing(a: ImageSummary, b: ImageSummary): boolean {
  return a.Created === b.Created && a.Size === b.Size && (a.RepoTags ?? []).join() === (b.RepoTags ?? []).join();
}

/**
 * Brings the list up to date with a fresh GET /images/json: the rows of
 * images gone or changed leave, those of new or changed ones go where order
 * puts them, and the others stay the same objects, so a change costs a
 * binary search per row and renders only the rows it touches. (Past a few
 * dozen changes, one sort is cheaper.)
 */
export function mergeImages(
  prev: ImageSummary[],
  rows: ImageRow[],
  fresh: ImageSummary[],
  order: (a: ImageRow, b: ImageRow) => number,
): { images: ImageSummary[]; rows: ImageRow[] } {
  const before = new Map(prev.map((img) => [img.Id, img]));
  const changed: ImageSummary[] = [];
  const images = fresh.map((img) => {
    const old = before.get(img.Id);
    before.delete(img.Id);
    if (old && sameListing(old, img)) return old;
    changed.push(img);
    return img;
  });
  if (!changed.length && !before.size) return { images: prev, rows };
  const stale = new Set([...before.keys(), ...changed.map((img) => img.Id)]);
  let out = rows.filter((r) => !stale.has(r.img.Id));
  const added = changed.flatMap(rowsOf);
  if (added.length > 32) out = [...out, ...added].sort(order);
  else for (const r of added) out = insertSorted(out, r, order);
  return { images, rows: out };
}

/** Finds a node and its parent chain in the tree. */
export function findNode(roots: TreeNode[], id: string): { node: TreeNode; ancestors: TreeNode[] } | null {
  const stack: { n: TreeNode; path: TreeNode[] }[] = roots.map((n) => ({ n, path: [] }));
  while (stack.length) {
    const { n, path } = stack.pop()!;
    if (n.Id === id) return { node: n, ancestors: path };
    for (const c of n.Children ?? []) stack.push({ n: c, path: [...path, n] });
  }
  return null;
}

export interface Impact {
  /** Removing this reference only untags: other tags keep the image. */
  untagOnly: boolean;
  otherTags: string[];
  running: ContainerSummary[];
  stopped: ContainerSummary[];
  children: TreeNode[];
  /** A hard conflict no force overrides (by ID: children, running containers). */
  blocked: boolean;
  /** A soft conflict that force overrides. */
  needsForce: boolean;
  /**
   * Removing the last tag takes the tag only: a running container or a
   * child image keeps the image, untagged.
   */
  keepsImage: boolean;
  reasons: string[];
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * What `rmi ref` would do, by Docker's rules. A tag with other tags left
 * only untags. The last tag: while any container uses the image the daemon
 * asks for force; with it (or with no container) the tag goes, and the
 * image with it unless a running container or a child image keeps it. By
 * ID: child images and running containers refuse the removal, stopped
 * containers and tags in several repositories need force.
 */
export function removalImpact(ref: string, image: { Id: string; RepoTags: string[] }, node: TreeNode | null, containers: ContainerSummary[]): Impact {
  const byId = ref.replace(/^sha256:/, '') !== '' && image.Id.replace(/^sha256:/, '').startsWith(ref.replace(/^sha256:/, ''));
  const tags = image.RepoTags.filter((t) => t !== '<none>:<none>');
  const otherTags = byId ? tags : tags.filter((t) => t !== ref && t !== `${ref}:latest`);
  const untagOnly = !byId && otherTags.length > 0;
  const using = containers.filter((c) => c.ImageID === image.Id);
  const running = using.filter((c) => c.State === 'running' || c.State === 'paused' || c.State === 'restarting');
  const stopped = using.filter((c) => !running.includes(c));
  const children = node?.Children ?? [];
  const impact: Impact = { untagOnly, otherTags, running, stopped, children, blocked: false, needsForce: false, keepsImage: false, reasons: [] };
  if (untagOnly) return impact;
  if (!byId) {
    if (using.length) {
      impact.needsForce = true;
      impact.reasons.push(`${plural(using.length, 'container uses', 'containers use')} it (needs force)`);
    }
    impact.keepsImage = running.length > 0 || children.length > 0;
    return impact;
  }
  if (children.length) {
    impact.blocked = true;
    impact.reasons.push(`it has ${plural(children.length, 'child image', 'child images')} (cannot be forced)`);
  }
  if (running.length) {
    impact.blocked = true;
    impact.reasons.push(`${plural(running.length, 'running container uses', 'running containers use')} it (cannot be forced)`);
  }
  if (stopped.length) {
    impact.needsForce = true;
    impact.reasons.push(`${plural(stopped.length, 'stopped container uses', 'stopped containers use')} it (needs force)`);
  }
  if (new Set(tags.map((t) => splitTag(t).repo)).size > 1) {
    impact.needsForce = true;
    impact.reasons.push('it is tagged in several repositories (needs force)');
  }
  return impact;
}

export interface LaidOut {
  node: TreeNode;
  x: number;
  y: number;
  depth: number;
  parent: LaidOut | null;
}

/** Lays the forest out left to right: depth on x, leaves stacked on y, parents centred on their children. */
export function layoutTree(roots: TreeNode[], colW: number, rowH: number): { nodes: LaidOut[]; width: number; height: number } {
  const nodes: LaidOut[] = [];
  let row = 0;
  let maxDepth = 0;
  function visit(n: TreeNode, depth: number, parent: LaidOut | null): LaidOut {
    const me: LaidOut = { node: n, x: depth * colW, y: 0, depth, parent };
    nodes.push(me);
    maxDepth = Math.max(maxDepth, depth);
    const kids = [...(n.Children ?? [])].sort((a, b) => a.Created - b.Created);
    if (!kids.length) {
      me.y = row++ * rowH;
    } else {
      const laid = kids.map((c) => visit(c, depth + 1, me));
      me.y = (laid[0].y + laid[laid.length - 1].y) / 2;
    }
    return me;
  }
  for (const r of [...roots].sort((a, b) => a.Created - b.Created)) visit(r, 0, null);
  return { nodes, width: (maxDepth + 1) * colW, height: Math.max(1, row) * rowH };
}
