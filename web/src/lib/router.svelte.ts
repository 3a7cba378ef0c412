// Hash routing (#/containers/abc): the daemon serves the page only at /,
// and every other path belongs to the API.

export const route = $state({ path: '/', parts: [] as string[], query: new URLSearchParams() });

function parse() {
  const h = location.hash.replace(/^#/, '') || '/containers';
  const [p, q] = h.split('?');
  route.path = p;
  route.parts = p.split('/').filter(Boolean).map(decodeURIComponent);
  route.query = new URLSearchParams(q ?? '');
}

export function startRouter() {
  parse();
  window.addEventListener('hashchange', parse);
}

export function href(path: string): string {
  return `#${path}`;
}

export function go(path: string) {
  location.hash = path;
}
