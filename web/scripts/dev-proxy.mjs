// A development stand-in for the daemon's dashboard listener: serves
// web/dist and forwards the API to a daemon's unix socket, emulating the
// session contract (POST /skiff/login, /skiff/logout, GET /skiff/session,
// X-CSRF-Token on non-GET requests) for daemons that do not serve it yet.
//
//   node scripts/dev-proxy.mjs --socket /tmp/ui/skiff.sock --listen 127.0.0.1:7800 [--password dev]
//
// Not part of the product; the real daemon serves all of this itself.
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const socketPath = args.socket ?? '/tmp/ui/skiff.sock';
const [host, port] = (args.listen ?? '127.0.0.1:7800').split(':');
const password = args.password ?? 'dev';
const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const sessions = new Map(); // id -> csrf

const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.woff2': 'font/woff2' };

function cookieSession(req) {
  const m = /(?:^|;\s*)skiff_session=([^;]+)/.exec(req.headers.cookie ?? '');
  return m && sessions.has(m[1]) ? m[1] : null;
}
function json(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (req.method === 'GET' && (url.pathname === '/' || url.pathname.startsWith('/assets/'))) {
    const file = path.join(dist, url.pathname === '/' ? 'index.html' : url.pathname);
    fs.readFile(file, (err, data) => {
      if (err) return json(res, 404, { message: 'page not found' });
      res.writeHead(200, { 'Content-Type': types[path.extname(file)] ?? 'application/octet-stream' });
      res.end(data);
    });
    return;
  }
  if (url.pathname === '/skiff/login' && req.method === 'POST') {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      let creds = {};
      try { creds = JSON.parse(body); } catch {}
      if (creds.password !== password && creds.token !== args.token) {
        return json(res, 401, { message: 'wrong token or password' });
      }
      const id = crypto.randomBytes(16).toString('hex');
      sessions.set(id, crypto.randomBytes(16).toString('hex'));
      res.writeHead(204, { 'Set-Cookie': `skiff_session=${id}; HttpOnly; SameSite=Strict; Path=/` });
      res.end();
    });
    return;
  }
  const sid = cookieSession(req);
  if (!sid) return json(res, 401, { message: 'authentication required' });
  if (url.pathname === '/skiff/session' && req.method === 'GET') {
    return json(res, 200, { csrfToken: sessions.get(sid), expiresAt: new Date(Date.now() + 12 * 3600e3).toISOString() });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD' && req.headers['x-csrf-token'] !== sessions.get(sid)) {
    return json(res, 403, { message: 'missing or wrong X-CSRF-Token' });
  }
  if (url.pathname === '/skiff/logout' && req.method === 'POST') {
    sessions.delete(sid);
    res.writeHead(204, { 'Set-Cookie': 'skiff_session=; Max-Age=0; Path=/' });
    return res.end();
  }
  const headers = { ...req.headers };
  delete headers.cookie;
  const up = http.request({ socketPath, path: req.url, method: req.method, headers }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    res.flushHeaders(); // streams (events, logs) start before their first byte
    r.pipe(res);
  });
  up.on('error', (e) => json(res, 502, { message: `daemon: ${e.message}` }));
  req.pipe(up);
  res.on('close', () => up.destroy());
});

// Websockets: pass the upgrade through to the daemon byte for byte.
server.on('upgrade', (req, sock, head) => {
  if (!cookieSession(req)) {
    sock.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const up = net.connect(socketPath, () => {
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const k = req.rawHeaders[i];
      if (k.toLowerCase() === 'cookie') continue;
      // The daemon checks Origin against its own Host; present ours.
      lines.push(`${k}: ${req.rawHeaders[i + 1]}`);
    }
    up.write(lines.join('\r\n') + '\r\n\r\n');
    if (head.length) up.write(head);
    sock.pipe(up).pipe(sock);
  });
  up.on('error', () => sock.destroy());
  sock.on('error', () => up.destroy());
});

server.listen(Number(port), host, () => console.log(`dev proxy on http://${host}:${port} -> ${socketPath} (password: ${password})`));
