// Virtualised lists of fixed-height rows: only the rows in view, plus some
// overscan either side, are in the DOM, so 1,000 or 100,000 rows cost what
// a screenful does. The log viewer scrolls its own box; the list pages
// scroll the window, and windowSpan tells them which part of a list is in
// it.

export interface RowRange {
  /** The first row to render. */
  first: number;
  /** One past the last row to render. */
  last: number;
}

/**
 * The rows of a list of n rows of rowHeight pixels to render when the span
 * [top, top + height) of the list (in its own coordinates) is in view.
 */
export function rowRange(n: number, rowHeight: number, top: number, height: number, overscan: number): RowRange {
  // A list that just shrank under a view further down (a filter typed while
  // scrolled) shows its end, where the browser is about to clamp the
  // scroll, rather than nothing for a frame.
  top = Math.min(top, Math.max(0, n * rowHeight - height));
  const first = Math.min(n, Math.max(0, Math.floor(top / rowHeight) - overscan));
  const last = Math.min(n, Math.max(first, Math.ceil((top + height) / rowHeight) + overscan));
  return { first, last };
}

/**
 * The row that a navigation key moves to from row i of n, pageRows at a
 * time for Page Up/Down; null for other keys.
 */
export function rowKey(key: string, i: number, n: number, pageRows: number): number | null {
  if (n === 0) return null;
  const to = (j: number) => Math.max(0, Math.min(n - 1, j));
  switch (key) {
    case 'ArrowDown': return to(i + 1);
    case 'ArrowUp': return to(i - 1);
    case 'PageDown': return to(i + pageRows);
    case 'PageUp': return to(i - pageRows);
    case 'Home': return 0;
    case 'End': return n - 1;
  }
  return null;
}

export interface Span {
  /** How far the window's top is below the element's top, in pixels (negative while the element starts lower down). */
  top: number;
  /** The window's height. */
  height: number;
}

/**
 * Follows which part of el the window shows, calling onchange at most once
 * per frame as the page scrolls or resizes. Returns the function that stops.
 */
export function windowSpan(el: HTMLElement, onchange: (s: Span) => void): () => void {
  let raf = 0;
  const measure = () => {
    raf = 0;
    onchange({ top: -el.getBoundingClientRect().top, height: window.innerHeight });
  };
  const schedule = () => {
    if (!raf) raf = requestAnimationFrame(measure);
  };
  measure();
  window.addEventListener('scroll', schedule, { passive: true });
  window.addEventListener('resize', schedule, { passive: true });
  // Content above the list growing or shrinking moves it without a scroll.
  const ro = new ResizeObserver(schedule);
  ro.observe(document.body);
  return () => {
    window.removeEventListener('scroll', schedule);
    window.removeEventListener('resize', schedule);
    ro.disconnect();
    cancelAnimationFrame(raf);
  };
}
