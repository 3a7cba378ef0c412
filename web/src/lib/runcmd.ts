// The Run dialog's model: what the user filled in, rendered both as the
// body of POST /containers/create and as the equivalent `skiff run` command.

export type RestartPolicy = 'no' | 'always' | 'unless-stopped' | 'on-failure';

export interface RunOptions {
  image: string;
  command: string; // as typed; split like a POSIX shell would
  name: string;
  interactive: boolean; // -it (true) or -d (false)
  env: string[]; // KEY=value
  ports: string[]; // [ip:]host:container[/proto]
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
  hostIp: string;
  hostPort: string;
}

/** Parses -p's [ip:]host:container[/proto] (or a bare container port). */
export function parsePort(spec: string): PortBinding {
  let s = spec.trim();
  let proto = 'tcp';
  const slash = s.lastIndexOf('/');
  if (slash >= 0) {
    proto = s.slice(slash + 1) || 'tcp';
    s = s.slice(0, slash);
  }
  const parts = s.split(':');
  let hostIp = '';
  let hostPort = '';
  let ctr = '';
  if (parts.length === 1) ctr = parts[0];
  else if (parts.length === 2) [hostPort, ctr] = parts;
  else {
    ctr = parts.pop()!;
    hostPort = parts.pop()!;
    hostIp = parts.join(':');
  }
  if (!/^\d+(-\d+)?$/.test(ctr)) throw new Error(`invalid port "${spec}": container port must be a number`);
  if (hostPort && !/^\d+(-\d+)?$/.test(hostPort)) throw new Error(`invalid port "${spec}": host port must be a number`);
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new Error(`invalid protocol in "${spec}"`);
  return { containerPort: `${ctr}/${proto}`, hostIp, hostPort };
}

/** The JSON body of POST /containers/create?name=… for these options. */
export function createBody(o: RunOptions): Record<string, unknown> {
  if (!o.image.trim()) throw new Error('choose an image');
  const cmd = shellSplit(o.command);
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of clean(o.ports)) {
    const b = parsePort(p);
    exposed[b.containerPort] = {};
    (bindings[b.containerPort] ??= []).push({ HostIp: b.hostIp, HostPort: b.hostPort });
  }
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
      AutoRemove: o.autoRemove,
      RestartPolicy: {
        Name: o.restart === 'no' ? '' : o.restart,
        MaximumRetryCount: o.restart === 'on-failure' ? o.maxRetries : 0,
      },
    },
  };
}
