import { describe, expect, it } from 'vitest';
import { rowKey, rowRange } from './virtual';

describe('rowRange', () => {
  it('renders the rows in view and the overscan either side', () => {
    // rows of 20 px, the view from 1,000 px to 1,400 px: rows 50 to 69
    expect(rowRange(1000, 20, 1000, 400, 5)).toEqual({ first: 45, last: 75 });
  });
  it('stops at the ends of the list', () => {
    expect(rowRange(1000, 20, 0, 400, 5)).toEqual({ first: 0, last: 25 });
    expect(rowRange(10, 20, 0, 400, 5)).toEqual({ first: 0, last: 10 });
    expect(rowRange(0, 20, 0, 400, 5)).toEqual({ first: 0, last: 0 });
  });
  it('renders the first rows of a list that starts below the view top', () => {
    expect(rowRange(1000, 48, -300, 800, 2)).toEqual({ first: 0, last: 13 });
  });
  it('shows the end of a list that shrank under a view further down', () => {
    // 27 rows left after a filter typed at scroll 24,000 px
    expect(rowRange(27, 48, 24_000, 800, 0)).toEqual({ first: 10, last: 27 });
  });
});

describe('rowKey', () => {
  it('moves by one, a page, or to an end, and stays in the list', () => {
    expect(rowKey('ArrowDown', 3, 10, 4)).toBe(4);
    expect(rowKey('ArrowUp', 0, 10, 4)).toBe(0);
    expect(rowKey('ArrowDown', 9, 10, 4)).toBe(9);
    expect(rowKey('PageDown', 8, 10, 4)).toBe(9);
    expect(rowKey('PageUp', 5, 10, 4)).toBe(1);
    expect(rowKey('Home', 5, 10, 4)).toBe(0);
    expect(rowKey('End', 5, 10, 4)).toBe(9);
  });
  it('ignores other keys and empty lists', () => {
    expect(rowKey('a', 3, 10, 4)).toBeNull();
    expect(rowKey('ArrowDown', 0, 0, 4)).toBeNull();
  });
});
