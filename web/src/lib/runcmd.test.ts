import { describe, expect, it } from 'vitest';
import { cliCommand, createBody, emptyRunOptions, parsePort, shellQuote, shellSplit } from './runcmd';

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
    expect(() => parsePort('80:http')).toThrow();
  });
});
