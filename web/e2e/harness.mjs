// What the dashboard's browser tests run against: a real `skiff serve`,
// built from this repository, on a data root, socket and port of its own,
// and Debian's Chromium driven by playwright-core. Everything it starts is
// ended, and everything it writes removed, by cleanup(), which the tests
// call in their after hook and on SIGINT/SIGTERM.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
export const artifacts = path.join(import.meta.dirname, 'artifacts');
fs.mkdirSync(artifacts, { recursive: true });

const cleanups = [];
/** Registers fn to run at cleanup, last registered first. */
export function onCleanup(fn) {
  cleanups.push(fn);
}
let cleaning = null;
export function cleanup() {
  cleaning ??= (async () => {
    while (cleanups.length) {
      const fn = cleanups.pop();
      try {
        await fn();
      } catch (e) {
        console.error(`cleanup: ${e?.stack ?? e}`);
      }
    }
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => cleanup().finally(() => process.exit(130)));
}

/** A temporary directory, removed at cleanup (after unmounting anything left in it). */
export function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  onCleanup(async () => {
    for (const m of mountsUnder(dir).reverse()) await run('umount', ['-l', m]).catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function mountsUnder(dir) {
  let info = '';
  try {
    info = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  return info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && (m === dir || m.startsWith(dir + '/')));
}

/**
 * Polls cond (sync or async) until it returns a truthy value, which it
 * returns; fails after timeoutMs with what was awaited and the last value
 * or error seen. The timeout is only a bound for failures.
 */
export async function waitFor(what, cond, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const seen = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}; last seen: ${seen}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Builds the skiff binary, with web/dist as it is in the tree (run `npm run build` first). */
export async function buildSkiff(dir) {
  const bin = path.join(dir, 'skiff');
  await run('go', ['build', '-buildvcs=false', '-o', bin, '.'], {
    cwd: repoRoot,
    env: { ...process.env, CGO_ENABLED: '0' }, // as the README builds it
    maxBuffer: 16 << 20,
  });
  return bin;
}

/** The busybox root filesystem tarball of every test image (scripts/busybox-rootfs.sh). */
export async function busyboxRootfs(dir) {
  const out = path.join(dir, 'busybox.tar');
  await run(path.join(repoRoot, 'scripts', 'busybox-rootfs.sh'), [out]);
  return out;
}

/** The IPv4 prefixes of every route of every table of this network namespace. */
async function routePrefixes() {
  const { stdout } = await run('ip', ['-4', '-j', 'route', 'show', 'table', 'all'], { maxBuffer: 16 << 20 });
  const out = [];
  for (const r of JSON.parse(stdout)) {
    if (!r.dst || r.dst === 'default') continue; // the default route overlaps everything
    const [addr, bits = '32'] = r.dst.split('/');
    const a = ipv4Int(addr);
    if (a !== null) out.push({ net: a, bits: Number(bits) });
  }
  return out;
}

function ipv4Int(s) {
  const o = s.split('.').map(Number);
  if (o.length !== 4 || o.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return null;
  return ((o[0] << 24) >>> 0) + (o[1] << 16) + (o[2] << 8) + o[3];
}

const overlaps = (a, b) => {
  const bits = Math.min(a.bits, b.bits);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((a.net & mask) >>> 0) === ((b.net & mask) >>> 0);
};

const taken = [];
/**
 * A /24 of 10.200.0.0-10.254.255.0 that no route of this namespace and no
 * subnet handed out before overlaps, as the Go tests pick their daemons'
 * (a random one, so that suites running side by side do not meet).
 */
export async function freeSubnet() {
  const used = [...(await routePrefixes()), ...taken];
  for (let i = 0; i < 256; i++) {
    const c = { net: ((10 << 24) >>> 0) + ((200 + Math.floor(Math.random() * 55)) << 16) + (Math.floor(Math.random() * 256) << 8), bits: 24 };
    if (used.some((u) => overlaps(u, c))) continue;
    taken.push(c);
    return `10.${(c.net >>> 16) & 255}.${(c.net >>> 8) & 255}.0/24`;
  }
  throw new Error('no free 10.x /24 for a test network');
}

/** A TCP port free on 127.0.0.1 now (the kernel's pick, released). */
export async function freePort() {
  const srv = http.createServer();
  await new Promise((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

const linkExists = (name) => fs.existsSync(`/sys/class/net/${name}`);

/**
 * Removes what a daemon may leave of its networking in this namespace:
 * bridges (its default one and those of networks it created) and its
 * firewall table. A daemon stopping with no container removes them itself;
 * whatever is found here is reported, then removed.
 */
async function removeNetworkLeftovers(d) {
  for (const br of [d.bridge, ...d.networkBridges]) {
    if (!linkExists(br)) continue;
    console.error(`cleanup: bridge ${br} left behind by the daemon; removing it`);
    await run('ip', ['link', 'del', br]).catch((e) => console.error(`cleanup: ip link del ${br}: ${e.message}`));
  }
  const table = `skiff-${d.bridge}`;
  const listed = await run('nft', ['list', 'table', 'ip', table]).then(() => true, () => false);
  if (listed) {
    console.error(`cleanup: nftables table ip ${table} left behind by the daemon; removing it`);
    await run('nft', ['delete', 'table', 'ip', table]).catch((e) => console.error(`cleanup: nft delete table ip ${table}: ${e.message}`));
  }
}

/**
 * Starts `skiff serve` on a new data root, a unix socket in dir and a free
 * loopback port; resolves once its log has printed the dashboard's line,
 * with the TCP address and the first start's access token read from the log.
 * Its default network is a bridge of its own, with a random name, on a
 * subnet no route has: the host's skiff0, if any, is none of its business.
 */
export async function startDaemon(bin, dir) {
  const root = path.join(dir, 'root');
  const socket = path.join(dir, 'skiff.sock');
  const logPath = path.join(artifacts, 'daemon.log');
  const logFile = fs.createWriteStream(logPath);
  const bridge = `ske${Math.random().toString(16).slice(2, 10)}`;
  const subnet = await freeSubnet();
  const proc = spawn(bin, ['serve', '--data-root', root, '--socket', socket, '--listen', '127.0.0.1:0', '--bridge', bridge, '--bridge-subnet', subnet], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const d = { proc, root, socket, bridge, subnet, networkBridges: [], tcp: '', token: '', log: [], logPath, exited: false };
  const exited = new Promise((resolve) => proc.once('exit', (code, sig) => { d.exited = true; resolve({ code, sig }); }));
  onCleanup(() => stopDaemon(d, exited).finally(() => removeNetworkLeftovers(d)));

  const ready = new Promise((resolve, reject) => {
    readline.createInterface({ input: proc.stderr }).on('line', (line) => {
      d.log.push(line);
      logFile.write(line + '\n');
      d.tcp ||= /\btcp=(\S+)/.exec(line)?.[1] ?? '';
      d.token ||= /\btoken=(\S+)/.exec(line)?.[1] ?? '';
      // The dashboard's line comes last, after the token's on a first start.
      if (line.includes('dashboard: ')) resolve();
    });
    exited.then(({ code, sig }) => reject(new Error(`skiff serve exited (${code ?? sig}) before it was ready:\n${d.log.join('\n')}`)));
    setTimeout(() => reject(new Error(`skiff serve did not get ready in 30s:\n${d.log.join('\n')}`)), 30_000).unref();
  });
  await ready;
  if (!d.tcp || !d.token) throw new Error(`no TCP address or token in the daemon's log:\n${d.log.join('\n')}`);
  d.url = `http://${d.tcp}/`;
  /** The API over TCP with the token, as the CLI uses it. */
  d.api = async (p, o = {}) => {
    const r = await fetch(`http://${d.tcp}${p}`, { ...o, headers: { Authorization: `Bearer ${d.token}`, ...o.headers } });
    if (!r.ok) throw new Error(`${o.method ?? 'GET'} ${p}: ${r.status} ${await r.text()}`);
    return r;
  };
  d.json = async (p, o) => (await d.api(p, o)).json();
  /** Past events matching Docker's events filters, between since and now. */
  d.events = async (filters, since = 1) => {
    const until = (Date.now() / 1000).toFixed(3);
    const text = await (await d.api(`/events?since=${since}&until=${until}&filters=${encodeURIComponent(JSON.stringify(filters))}`)).text();
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  };
  return d;
}

/** Monitor processes of containers under root (they outlive a daemon). */
function monitorsOf(root) {
  const pids = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (cmd.includes('monitor\0') && cmd.includes(root)) pids.push(Number(p));
    } catch {
      // gone
    }
  }
  return pids;
}

// Removes the daemon's containers (their monitors outlive the daemon), then
// stops it with SIGTERM as a service manager does.
async function stopDaemon(d, exited) {
  if (!d.exited && d.api) {
    try {
      for (const c of await d.json('/containers/json?all=1')) {
        await d.api(`/containers/${c.Id}?force=1&v=1`, { method: 'DELETE' }).catch((e) => console.error(`cleanup: ${e.message}`));
      }
    } catch (e) {
      console.error(`cleanup: listing containers: ${e.message}`);
    }
    await waitFor('the containers’ monitors to exit', () => monitorsOf(d.root).length === 0, 10_000).catch((e) => console.error(`cleanup: ${e.message}`));
    // The networks the tests created and left: the daemon removes their bridges.
    try {
      for (const n of await d.json('/networks')) {
        if (['bridge', 'host', 'none'].includes(n.Name)) continue;
        d.networkBridges.push(`br-${n.Id.slice(0, 12)}`);
        await d.api(`/networks/${n.Id}`, { method: 'DELETE' }).catch((e) => console.error(`cleanup: ${e.message}`));
      }
    } catch (e) {
      console.error(`cleanup: listing networks: ${e.message}`);
    }
  }
  if (!d.exited) {
    d.proc.kill('SIGTERM');
    const t = setTimeout(() => d.proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }
  for (const pid of monitorsOf(d.root)) {
    console.error(`cleanup: killing container monitor ${pid} left running`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** The account of the registry startRegistry starts with auth: user e2e, its password in htpasswd's bcrypt. */
export const registryAccount = {
  username: 'e2e',
  password: 'e2e-secret-pw',
  htpasswd: 'e2e:$2y$05$rOrD6l2iDGrJbsQQszWBp.Tqh6dYE1bgIUUsKQQqhxc272A8XbqYu\n',
};

/**
 * Debian's docker-registry (distribution) on a free loopback port, with
 * storage in dir, as the Go tests' registrytest runs it; with auth, it asks
 * for registryAccount (basic auth from an htpasswd file). Resolves with its
 * host:port once it listens; it is killed at cleanup.
 */
export async function startRegistry(dir, { auth = false } = {}) {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const root = fs.mkdtempSync(path.join(dir, 'registry-'));
  let config = `version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: ${root}/storage\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n`;
  if (auth) {
    fs.writeFileSync(path.join(root, 'htpasswd'), registryAccount.htpasswd);
    config += `auth:\n  htpasswd:\n    realm: skiff-e2e\n    path: ${root}/htpasswd\n`;
  }
  fs.writeFileSync(path.join(root, 'config.yml'), config);
  const proc = spawn('docker-registry', ['serve', path.join(root, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  onCleanup(async () => {
    proc.kill('SIGKILL');
    await exited;
  });
  const log = [];
  await new Promise((resolve, reject) => {
    for (const stream of [proc.stdout, proc.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        log.push(line);
        if (line.includes(`listening on ${host}`)) resolve();
      });
    }
    proc.once('error', reject);
    exited.then((code) => reject(new Error(`docker-registry exited (${code}) before listening:\n${log.join('\n')}`)));
  });
  return host;
}

/**
 * Debian's Chromium, headless, on a fresh profile in dir; one context, so
 * every page shares the login's cookies as tabs of one browser do.
 */
export async function launchBrowser(dir) {
  const context = await chromium.launchPersistentContext(path.join(dir, 'chromium-profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
    viewport: { width: 1280, height: 800 },
    colorScheme: 'light',
    timeout: 60_000,
  });
  onCleanup(() => context.close());
  context.setDefaultTimeout(30_000);
  return context;
}

/** A tiny HTTP server on host's loopback address serving one HTML page. */
export async function servePage(host, html) {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  onCleanup(() => new Promise((r) => server.close(r).closeAllConnections()));
  return `http://${host}:${server.address().port}/`;
}

let shots = 0;
/**
 * Saves a screenshot of the page to web/e2e/artifacts/ and prints its path;
 * notices (toasts) are dismissed first, as a user would, so that they do
 * not cover the page. With E2E_README_SCREENSHOTS=1, those given a readme
 * name are also written to docs/screenshots/, the README's pictures.
 */
export async function screenshot(page, name, { readme } = {}) {
  const focused = await page.evaluateHandle(() => document.activeElement);
  // (Not under a modal dialog: nobody can click there, so briefly.)
  for (const b of await page.getByRole('button', { name: 'Dismiss' }).all()) await b.click({ timeout: 2_000 }).catch(() => {});
  await page.getByRole('button', { name: 'Dismiss' }).first().waitFor({ state: 'detached', timeout: 5_000 }).catch(() => {});
  await focused.evaluate((el) => el?.focus?.()).catch(() => {}); // the terminal keeps the keyboard
  const file = path.join(artifacts, `${String(++shots).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  console.log(`screenshot: ${path.relative(process.cwd(), file)}`);
  if (readme && process.env.E2E_README_SCREENSHOTS === '1') {
    const out = path.join(repoRoot, 'docs', 'screenshots', `${readme}.png`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.copyFileSync(file, out);
    console.log(`README screenshot: ${path.relative(process.cwd(), out)}`);
  }
  return file;
}

/** The terminal's screen as lines of text (xterm.js renders its rows in the DOM). */
export function terminalLines(page) {
  return page.locator('.xterm-rows').evaluate((el) =>
    [...el.children].map((row) => (row.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd()),
  );
}

/** Waits for a line of the terminal matching re; returns its match. */
export async function terminalLine(page, re, what, timeoutMs = 20_000) {
  return waitFor(what ?? `a terminal line matching ${re}`, async () => {
    for (const l of await terminalLines(page)) {
      const m = re.exec(l);
      if (m) return m;
    }
    return false;
  }, timeoutMs).catch(async (e) => {
    throw new Error(`${e.message}\nthe terminal shows:\n${(await terminalLines(page).catch(() => [])).join('\n')}`);
  });
}
