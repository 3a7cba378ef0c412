import { describe, expect, it } from 'vitest';
import { byKind, checkSubnet, createCli, createRequest, toRow } from './networks';

describe('networks', () => {
  it('reads a network’s subnet, gateway and containers', () => {
    const r = toRow({
      Id: 'abc', Name: 'app', Driver: 'bridge', Created: '2025-01-01T00:00:00Z',
      IPAM: { Config: [{ Subnet: '10.10.0.0/24', Gateway: '10.10.0.1' }] },
      Containers: { c2: { Name: 'web', IPv4Address: '10.10.0.3/24' }, c1: { Name: 'db', IPv4Address: '10.10.0.2/24' } },
    });
    expect(r).toMatchObject({ name: 'app', subnet: '10.10.0.0/24', gateway: '10.10.0.1', predefined: false });
    expect(r.containers.map((c) => c.name)).toEqual(['db', 'web']);
    const host = toRow({ Id: 'h', Name: 'host', Driver: 'host', Created: '', IPAM: { Config: null } });
    expect(host).toMatchObject({ subnet: '', gateway: '', containers: [], predefined: true });
  });
  it('lists bridge, host and none first, then the rest by name', () => {
    const rows = ['zeta', 'none', 'app', 'bridge', 'host'].map((Name) => toRow({ Id: Name, Name, Driver: 'bridge', Created: '', IPAM: { Config: [] } }));
    expect(rows.sort(byKind).map((r) => r.name)).toEqual(['bridge', 'host', 'none', 'app', 'zeta']);
  });
  it('renders the create request and its command', () => {
    expect(createRequest(' app ', '')).toEqual({ Name: 'app', Driver: 'bridge' });
    expect(createRequest('app', '10.10.0.0/24')).toEqual({ Name: 'app', Driver: 'bridge', IPAM: { Driver: 'default', Config: [{ Subnet: '10.10.0.0/24' }] } });
    expect(createCli('app', '')).toBe('skiff network create app');
    expect(createCli('app', ' 10.10.0.0/24')).toBe('skiff network create --subnet 10.10.0.0/24 app');
    expect(createCli('', '')).toBe('skiff network create <name>');
  });
  it('checks a subnet before the daemon does', () => {
    expect(checkSubnet('')).toBe('');
    expect(checkSubnet('10.10.0.0/24')).toBe('');
    expect(checkSubnet('10.10.0.0')).toMatch(/CIDR/);
    expect(checkSubnet('10.300.0.0/24')).toMatch(/CIDR/);
    expect(checkSubnet('10.1.0.0/33')).toMatch(/CIDR/);
  });
});
