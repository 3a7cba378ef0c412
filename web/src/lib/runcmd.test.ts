import { describe, expect, it } from 'vitest';
import { cliCommand, createBody, emptyRunOptions, parsePorts, shellQuote, shellSplit } from './runcmd';

describe('shellSplit / shellQuote', () => {
  it('splits with quotes', () => {
    expect(shellSplit(`sh -c 'echo "hi there"; ls'`)).toEqual(['sh', '-c', 'echo "hi there"; ls']);
    expect(shellSplit(`echo "a\\"b" c\\ d ''`)).toEqual(['echo', 'a"b', 'c d', '']);
    expect(() => shellSplit(`echo 'x`)).toThrow();
  });
  it('quotes only when needed and round-trips', () => {
    expect(shellQuote('busybox:latest')).toBe('busybox:latest');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    const words = ['sh', '-c', `echo "$HOME" it's`];
    expect(shellSplit(words.map(shellQuote).join(' '))).toEqual(words);
  });
});

describe('cliCommand', () => {
  it('renders a detached run', () => {
    const o = {
      ...emptyRunOptions(),
      image: 'web',
      name: 'site',
      ports: ['8080:80', ' '],
      env: ['GREETING=hello world'],
      volumes: ['data:/srv/data:ro'],
      restart: 'unless-stopped' as const,
    };
    expect(cliCommand(o)).toBe(
      "skiff run -d --name site -e 'GREETING=hello world' -p 8080:80 -v data:/srv/data:ro --restart unless-stopped web",
    );
  });
  it('renders -it with a command and on-failure retries', () => {
    const o = { ...emptyRunOptions(), image: 'busybox', interactive: true, command: `sh -c 'echo hi'`, restart: 'on-failure' as const, maxRetries: 3, autoRemove: true };
    expect(cliCommand(o)).toBe("skiff run -it --rm --restart on-failure:3 busybox sh -c 'echo hi'");
  });
  it('renders ports, -P and a network other than the default bridge', () => {
    const o = { ...emptyRunOptions(), image: 'busybox', ports: ['8080:80'], network: 'app', command: 'httpd -f -p 80' };
    expect(cliCommand(o)).toBe('skiff run -d -p 8080:80 --network app busybox httpd -f -p 80');
    expect(cliCommand({ ...o, ports: ['127.0.0.1:8080:80', '53/udp'], publishAll: true, network: 'bridge' })).toBe(
      'skiff run -d -p 127.0.0.1:8080:80 -p 53/udp -P busybox httpd -f -p 80',
    );
    expect(cliCommand({ ...o, ports: [], network: 'host' })).toBe('skiff run -d --network host busybox httpd -f -p 80');
    expect(cliCommand({ ...o, ports: [], network: 'none' })).toBe('skiff run -d --network none busybox httpd -f -p 80');
  });
  it('shows a placeholder until an image is chosen', () => {
    expect(cliCommand(emptyRunOptions())).toBe('skiff run -d <image>');
  });
});

describe('createBody', () => {
  it('maps the options to the Engine API', () => {
    const b = createBody({ ...emptyRunOptions(), image: 'busybox', interactive: true, command: 'top -d 1', ports: ['127.0.0.1:8080:80/udp', '9000'], volumes: ['/data', 'v:/v'] }) as any;
    expect(b.Cmd).toEqual(['top', '-d', '1']);
    expect(b.Tty).toBe(true);
    expect(b.OpenStdin).toBe(true);
    expect(b.ExposedPorts).toEqual({ '80/udp': {}, '9000/tcp': {} });
    expect(b.HostConfig.PortBindings['80/udp']).toEqual([{ HostIp: '127.0.0.1', HostPort: '8080' }]);
    expect(b.HostConfig.Binds).toEqual(['v:/v']);
    expect(b.Volumes).toEqual({ '/data': {} });
    expect(b.HostConfig.RestartPolicy).toEqual({ Name: '', MaximumRetryCount: 0 });
  });
  it('refuses bad input', () => {
    expect(() => createBody(emptyRunOptions())).toThrow(/image/);
    expect(() => parsePorts('80:http')).toThrow();
  });
  it('sends the network mode, -P, and a user-defined network as an endpoint', () => {
    const base = { ...emptyRunOptions(), image: 'busybox' };
    const d = createBody(base) as any;
    expect(d.HostConfig.NetworkMode).toBe('bridge');
    expect(d.HostConfig.PublishAllPorts).toBe(false);
    expect(d.NetworkingConfig).toBeUndefined();
    const p = createBody({ ...base, publishAll: true, network: 'host' }) as any;
    expect(p.HostConfig.PublishAllPorts).toBe(true);
    expect(p.HostConfig.NetworkMode).toBe('host');
    expect(p.NetworkingConfig).toBeUndefined();
    const u = createBody({ ...base, network: 'app' }) as any;
    expect(u.HostConfig.NetworkMode).toBe('app');
    expect(u.NetworkingConfig).toEqual({ EndpointsConfig: { app: {} } });
  });
});

describe('parsePorts', () => {
  it('reads the forms of -p', () => {
    expect(parsePorts('8080:80')).toEqual([{ containerPort: '80/tcp', hostIp: '', hostPort: '8080' }]);
    expect(parsePorts(' 127.0.0.1:8080:80 ')).toEqual([{ containerPort: '80/tcp', hostIp: '127.0.0.1', hostPort: '8080' }]);
    expect(parsePorts('80')).toEqual([{ containerPort: '80/tcp', hostIp: '', hostPort: '' }]);
    expect(parsePorts('127.0.0.1::80')).toEqual([{ containerPort: '80/tcp', hostIp: '127.0.0.1', hostPort: '' }]);
    expect(parsePorts('5353:53/udp')).toEqual([{ containerPort: '53/udp', hostIp: '', hostPort: '5353' }]);
    expect(parsePorts('53/UDP')).toEqual([{ containerPort: '53/udp', hostIp: '', hostPort: '' }]);
    expect(parsePorts('[::1]:8080:80')).toEqual([{ containerPort: '80/tcp', hostIp: '::1', hostPort: '8080' }]);
  });
  it('expands ranges as docker does', () => {
    expect(parsePorts('8000-8001:80-81')).toEqual([
      { containerPort: '80/tcp', hostIp: '', hostPort: '8000' },
      { containerPort: '81/tcp', hostIp: '', hostPort: '8001' },
    ]);
    expect(parsePorts('80-81').map((b) => b.containerPort)).toEqual(['80/tcp', '81/tcp']);
    // One container port, a host range: the daemon picks a free port in it.
    expect(parsePorts('8000-8010:80')).toEqual([{ containerPort: '80/tcp', hostIp: '', hostPort: '8000-8010' }]);
  });
  it('refuses what docker refuses, saying why', () => {
    expect(() => parsePorts('8000-8002:80-81')).toThrow(/not the same size/);
    expect(() => parsePorts('0:80')).toThrow(/between 1 and 65535/);
    expect(() => parsePorts('8080:70000')).toThrow(/between 1 and 65535/);
    expect(() => parsePorts('81-80')).toThrow(/ends before it starts/);
    expect(() => parsePorts('8080:80/icmp')).toThrow(/tcp, udp or sctp/);
    expect(() => parsePorts('localhost:8080:80')).toThrow(/not an IP address/);
    expect(() => parsePorts('::1:8080:80')).toThrow(/brackets/);
    expect(() => parsePorts('')).toThrow(/container port/);
  });
});
