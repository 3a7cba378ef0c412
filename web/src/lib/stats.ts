// CPU% and memory as `docker stats` computes them (docker/cli
// cli/command/container/stats_helpers.go), from one /containers/{id}/stats
// sample that carries the previous sample in precpu_stats.

export interface StatsSample {
  read?: string;
  cpu_stats?: {
    cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null };
    system_cpu_usage?: number;
    online_cpus?: number;
  };
  precpu_stats?: {
    cpu_usage?: { total_usage?: number };
    system_cpu_usage?: number;
  };
  memory_stats?: {
    usage?: number;
    limit?: number;
    stats?: Record<string, number>;
  };
  pids_stats?: { current?: number; limit?: number };
}

/**
 * CPU usage in percent of one CPU: 200% is two cores busy. The container's
 * CPU time delta over the host's CPU time delta, times the number of CPUs.
 */
export function cpuPercent(s: StatsSample): number {
  const cpu = s.cpu_stats;
  const pre = s.precpu_stats;
  if (!cpu || !pre) return 0;
  const cpuDelta = (cpu.cpu_usage?.total_usage ?? 0) - (pre.cpu_usage?.total_usage ?? 0);
  const sysDelta = (cpu.system_cpu_usage ?? 0) - (pre.system_cpu_usage ?? 0);
  let online = cpu.online_cpus ?? 0;
  if (online === 0) online = cpu.cpu_usage?.percpu_usage?.length ?? 0;
  if (sysDelta > 0 && cpuDelta > 0) {
    return (cpuDelta / sysDelta) * online * 100;
  }
  return 0;
}

/**
 * Memory in use without the page cache: usage minus inactive_file (cgroup
 * v2, or total_inactive_file on v1), as docker stats shows it.
 */
export function memoryUsage(s: StatsSample): number {
  const mem = s.memory_stats;
  if (!mem || mem.usage === undefined) return 0;
  const usage = mem.usage;
  const st = mem.stats ?? {};
  const v1 = st['total_inactive_file'];
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = st['inactive_file'];
  if (v2 !== undefined && v2 < usage) return usage - v2;
  return usage;
}

/** Memory use in percent of the limit (0 when there is no limit). */
export function memoryPercent(s: StatsSample): number {
  const limit = s.memory_stats?.limit ?? 0;
  if (limit <= 0) return 0;
  return (memoryUsage(s) / limit) * 100;
}
