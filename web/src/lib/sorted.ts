// Sorted arrays kept up to date one item at a time, so a live list pays a
// binary search and a copy for a change instead of a sort.

/** A copy of sorted with item inserted where cmp places it, after its equals. */
export function insertSorted<T>(sorted: T[], item: T, cmp: (a: T, b: T) => number): T[] {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(sorted[mid], item) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return [...sorted.slice(0, lo), item, ...sorted.slice(lo)];
}

/** A copy of list without its element i. */
export function removeAt<T>(list: T[], i: number): T[] {
  return [...list.slice(0, i), ...list.slice(i + 1)];
}
