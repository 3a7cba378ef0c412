// The Run dialog's model: what the user filled in, rendered both as the
// body of POST /containers/create and as the equivalent `skiff run` command.

export type RestartPolicy = 'no' | 'always' | 'unless-stopped' | 'on-failure';

export interface RunOptions {
  image: string;
  command: string; // as typed; split like a POSIX shell would
  name: string;
  interactive: boolean; // -it (true) or -d (false)
  env: string[]; // KEY=value
  ports: string[]; // [ip:]host:container[/proto], or a container port alone
  publishAll: boolean; // -P: every EXPOSEd port on a random host port
  network: string; // bridge (default), host, none or a user-defined network
  volumes: string[]; // source:destination[:ro]
  restart: RestartPolicy;
  maxRetries: number; // for on-failure; 0 = unlimited
  autoRemove: boolean; // --rm
}

export function emptyRunOptions(): RunOptions {
  return {
    image: '',
    command: '',
    name: '',
    interactive: false,
    env: [],
    ports: [],
    publishAll: false,
    network: 'bridge',
    volumes: [],
    restart: 'no',
    maxRetries: 0,
    autoRemove: false,
  };
}

/** Splits a command line as sh would for simple quoting: '…', "…", \x. */
export function shellSplit(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let q: '"' | "'" | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q === "'") {
      if (c === "'") q = null;
      else cur += c;
    } else if (q === '"') {
      if (c === '"') q = null;
      else if (c === '\\' && i + 1 < s.length && '"\\$`'.includes(s[i + 1])) cur += s[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      q = c;
      has = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
    }
  }
  if (q) throw new Error(`unterminated ${q} quote`);
  if (has || cur) out.push(cur);
  return out;
}

/** Quotes one word for a POSIX shell only when it needs it. */
export function shellQuote(w: string): string {
  if (w === '') return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w)) return w;
  return `'${w.replace(/'/g, `'\\''`)}'`;
}

const clean = (xs: string[]) => xs.map((x) => x.trim()).filter((x) => x !== '');

/** The `skiff run …` command line for these options. */
export function cliCommand(o: RunOptions): string {
  const a: string[] = ['skiff', 'run'];
  a.push(o.interactive ? '-it' : '-d');
  if (o.autoRemove) a.push('--rm');
  if (o.name.trim()) a.push('--name', o.name.trim());
  for (const e of clean(o.env)) a.push('-e', e);
  for (const p of clean(o.ports)) a.push('-p', p);
  if (o.publishAll) a.push('-P');
  const net = o.network.trim();
  if (net && net !== 'bridge' && net !== 'default') a.push('--network', net);
  for (const v of clean(o.volumes)) a.push('-v', v);
  if (o.restart !== 'no') {
    a.push('--restart', o.restart === 'on-failure' && o.maxRetries > 0 ? `on-failure:${o.maxRetries}` : o.restart);
  }
  a.push(o.image.trim() || '<image>');
  let cmd: string[] = [];
  try {
    cmd = shellSplit(o.command);
  } catch {
    cmd = [o.command];
  }
  a.push(...cmd);
  return a.map(shellQuote).join(' ').replace(/'<image>'/, '<image>');
}

export interface PortBinding {
  containerPort: string; // 80/tcp
  hostIp: string; // '' for every address
  hostPort: string; // '' for a random port; 8000-8010 for one of a range
}

function portRange(s: string, what: string, spec: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw new Error(`invalid port "${spec}": ${what} must be a number or a range like 8000-8010`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535) throw new Error(`invalid port "${spec}": ${what} must be between 1 and 65535`);
  if (hi < lo) throw new Error(`invalid port "${spec}": the range ${s} ends before it starts`);
  return [lo, hi];
}

const ipv4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/**
 * Parses one -p: [ip:][hostPort:]containerPort[/proto], ports or ranges
 * (an IPv6 address in brackets). A container range publishes each port,
 * paired with a host range of the same size or with random host ports; a
 * host range for one container port lets the daemon pick a free port in it.
 */
export function parsePorts(spec: string): PortBinding[] {
  let s = spec.trim();
  let proto = 'tcp';
  const slash = s.lastIndexOf('/');
  if (slash >= 0) {
    proto = s.slice(slash + 1).toLowerCase();
    s = s.slice(0, slash);
  }
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new Error(`invalid port "${spec}": the protocol must be tcp, udp or sctp`);
  let hostIp = '';
  let hostPort = '';
  let ctr = '';
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    const rest = end < 0 ? [] : s.slice(end + 1).split(':');
    if (end < 0 || rest.length !== 3 || rest[0] !== '') throw new Error(`invalid port "${spec}": expected [ipv6]:hostPort:containerPort`);
    hostIp = s.slice(1, end);
    [, hostPort, ctr] = rest;
  } else {
    const parts = s.split(':');
    if (parts.length === 1) ctr = parts[0];
    else if (parts.length === 2) [hostPort, ctr] = parts;
    else if (parts.length === 3) [hostIp, hostPort, ctr] = parts;
    else throw new Error(`invalid port "${spec}": write an IPv6 address in brackets, as in [::1]:8080:80`);
    if (parts.length === 3 && !ipv4.test(hostIp)) throw new Error(`invalid port "${spec}": ${hostIp || 'the address'} is not an IP address`);
  }
  if (hostIp.includes(':') && !/^[0-9a-fA-F:.]+$/.test(hostIp)) throw new Error(`invalid port "${spec}": ${hostIp} is not an IP address`);
  const [c0, c1] = portRange(ctr, 'the container port', spec);
  const out: PortBinding[] = [];
  if (!hostPort) {
    for (let p = c0; p <= c1; p++) out.push({ containerPort: `${p}/${proto}`, hostIp, hostPort: '' });
    return out;
  }
  const [h0, h1] = portRange(hostPort, 'the host port', spec);
  if (c0 === c1) return [{ containerPort: `${c0}/${proto}`, hostIp, hostPort: h0 === h1 ? `${h0}` : `${h0}-${h1}` }];
  if (h1 - h0 !== c1 - c0) throw new Error(`invalid port "${spec}": the host and container ranges are not the same size`);
  for (let i = 0; i <= c1 - c0; i++) out.push({ containerPort: `${c0 + i}/${proto}`, hostIp, hostPort: `${h0 + i}` });
  return out;
}

/** The networks every daemon has, besides the user-defined ones. */
export const builtinNetworks = ['bridge', 'host', 'none'];

/** The JSON body of POST /containers/create?name=… for these options. */
export function createBody(o: RunOptions): Record<string, unknown> {
  if (!o.image.trim()) throw new Error('choose an image');
  const cmd = shellSplit(o.command);
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of clean(o.ports)) {
    for (const b of parsePorts(p)) {
      exposed[b.containerPort] = {};
      (bindings[b.containerPort] ??= []).push({ HostIp: b.hostIp, HostPort: b.hostPort });
    }
  }
  const net = o.network.trim() || 'bridge';
  for (const e of clean(o.env)) {
    if (e.startsWith('=')) throw new Error(`invalid environment variable "${e}"`);
  }
  const binds = clean(o.volumes).filter((v) => v.includes(':'));
  // A bare destination is an anonymous volume, as with -v /data.
  const anon: Record<string, object> = {};
  for (const v of clean(o.volumes)) if (!v.includes(':')) anon[v] = {};
  return {
    Image: o.image.trim(),
    Cmd: cmd.length ? cmd : null,
    Env: clean(o.env),
    Tty: o.interactive,
    OpenStdin: o.interactive,
    StdinOnce: false,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ExposedPorts: exposed,
    Volumes: anon,
    HostConfig: {
      Binds: binds,
      PortBindings: bindings,
      PublishAllPorts: o.publishAll,
      NetworkMode: net,
      AutoRemove: o.autoRemove,
      RestartPolicy: {
        Name: o.restart === 'no' ? '' : o.restart,
        MaximumRetryCount: o.restart === 'on-failure' ? o.maxRetries : 0,
      },
    },
    // A user-defined network is named as an endpoint too, as docker run does.
    NetworkingConfig: builtinNetworks.includes(net) || net.startsWith('container:') ? undefined : { EndpointsConfig: { [net]: {} } },
  };
}
