// The login state. The session itself is an HttpOnly cookie the page never
// sees; what the page keeps is the CSRF token that every non-GET request
// must echo in X-CSRF-Token.

export type AuthState = 'checking' | 'in' | 'out';

export const session = $state({
  state: 'checking' as AuthState,
  csrfToken: '',
  expiresAt: '',
  /** Why the login page is showing (expired, logged out…). */
  notice: '',
});

export function loggedOut(notice = '') {
  if (session.state === 'in' && !notice) notice = 'Your session has ended. Log in again to continue.';
  session.state = 'out';
  session.csrfToken = '';
  session.notice = notice;
}

/** Asks the daemon whether the cookie still holds a session. */
export async function checkSession(): Promise<boolean> {
  try {
    const r = await fetch('/skiff/session', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (r.ok) {
      const s = await r.json();
      session.csrfToken = s.csrfToken ?? '';
      session.expiresAt = s.expiresAt ?? '';
      session.state = 'in';
      session.notice = '';
      return true;
    }
  } catch {
    // network error: treat as logged out, the login page says more
  }
  session.state = 'out';
  return false;
}

export class LoginError extends Error {
  retryAfter = 0;
}

export async function login(creds: { token: string } | { password: string }): Promise<void> {
  const r = await fetch('/skiff/login', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(creds),
  });
  if (r.status === 204 || r.ok) {
    if (!(await checkSession())) throw new LoginError('Logged in, but the daemon did not keep the session. Are cookies allowed?');
    return;
  }
  let msg = `Login failed (HTTP ${r.status})`;
  try {
    const body = await r.json();
    if (body?.message) msg = body.message;
  } catch {
    // not JSON
  }
  const err = new LoginError(msg);
  if (r.status === 429) {
    err.retryAfter = parseInt(r.headers.get('Retry-After') ?? '0', 10) || 30;
    err.message = `Too many attempts. Try again in ${err.retryAfter} seconds.`;
  } else if (r.status === 401) {
    err.message = body401(msg);
  }
  throw err;
}

function body401(msg: string): string {
  return msg && !/^Login failed/.test(msg) ? msg : 'That token or password is not right.';
}

export async function logout(): Promise<void> {
  try {
    await fetch('/skiff/logout', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': session.csrfToken },
    });
  } finally {
    loggedOut('You have logged out.');
  }
}
