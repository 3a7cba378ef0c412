import { describe, expect, it } from 'vitest';
import { cpuPercent, memoryPercent, memoryUsage } from './stats';

describe('cpuPercent', () => {
  it('computes as docker stats does', () => {
    const s = {
      cpu_stats: { cpu_usage: { total_usage: 2_000_000_000 }, system_cpu_usage: 20_000_000_000, online_cpus: 4 },
      precpu_stats: { cpu_usage: { total_usage: 1_000_000_000 }, system_cpu_usage: 10_000_000_000 },
    };
    // 1e9 / 1e10 * 4 cores * 100
    expect(cpuPercent(s)).toBeCloseTo(40);
  });
  it('falls back to the per-CPU count', () => {
    const s = {
      cpu_stats: { cpu_usage: { total_usage: 300, percpu_usage: [1, 2] }, system_cpu_usage: 1000 },
      precpu_stats: { cpu_usage: { total_usage: 100 }, system_cpu_usage: 500 },
    };
    expect(cpuPercent(s)).toBeCloseTo(80);
  });
  it('is 0 for the first sample', () => {
    expect(cpuPercent({ cpu_stats: { cpu_usage: { total_usage: 5 }, system_cpu_usage: 9 }, precpu_stats: {} })).toBe(0);
  });
});

describe('memoryUsage', () => {
  it('subtracts inactive_file (cgroup v2)', () => {
    const s = { memory_stats: { usage: 10_000, limit: 100_000, stats: { inactive_file: 4_000, file: 6_000 } } };
    expect(memoryUsage(s)).toBe(6_000);
    expect(memoryPercent(s)).toBeCloseTo(6);
  });
  it('prefers total_inactive_file (cgroup v1)', () => {
    const s = { memory_stats: { usage: 10_000, stats: { total_inactive_file: 1_000, inactive_file: 3_000 } } };
    expect(memoryUsage(s)).toBe(9_000);
  });
  it('ignores a cache larger than usage', () => {
    expect(memoryUsage({ memory_stats: { usage: 100, stats: { inactive_file: 500 } } })).toBe(100);
    expect(memoryPercent({ memory_stats: { usage: 100 } })).toBe(0);
  });
});
