// Package cgroup puts a container's processes in control groups and limits
// them, on cgroup v1, v2 and hybrid hosts. It is skiff's own code on
// golang.org/x/sys; no cgroup library is involved.
//
// # Detection: per controller, never per host
//
// The kernel binds each controller to at most one hierarchy. The package
// reads /proc/self/mountinfo once per process (the result is cached):
//
//   - a mount of type "cgroup" is a v1 hierarchy; its super options name the
//     controllers bound to it ("rw,memory", or "rw,cpu,cpuacct" when
//     co-mounted);
//   - a mount of type "cgroup2" is the v2 (unified) hierarchy; the
//     controllers it offers are those listed in its root's
//     cgroup.controllers, which never lists one bound to a v1 hierarchy.
//
// Each controller is driven through the hierarchy that holds it: a v1
// hierarchy wins for its controllers and the v2 hierarchy serves the rest.
// Deciding once for the whole host gets hybrid hosts wrong. Those hosts
// (systemd's "hybrid" mode) mount every controller on v1 and a v2 hierarchy
// with few or no controllers at /sys/fs/cgroup/unified; this machine keeps
// only hugetlb there. A runtime that sees the v2 mount and drives everything
// through it limits nothing, and crun 1.8 refuses such hosts outright. A pure
// v2 host mounts cgroup2 at /sys/fs/cgroup itself, whose cgroup.controllers
// then lists every controller. [Version] says which of the three the host
// is: "1", "2" or "hybrid".
//
// # Layout
//
// A container's cgroup is <parent>/<id> below the root of every hierarchy:
// /sys/fs/cgroup/<controller>/skiff/<id> for each mounted v1 hierarchy, and
// <v2 mount>/skiff/<id> in the v2 one. On a hybrid host the container also
// gets its v2 directory, even when no controller it uses lives there (runc
// does the same). That directory takes the processes out of the daemon's
// systemd unit, offers cgroup.kill, and holds any controller the host keeps
// on v2. On v2, [New] enables the controllers the package uses (cpu, cpuset,
// io, memory, pids) in the cgroup.subtree_control of every ancestor,
// whenever the ancestor offers them.
//
// On v1, a new cpuset cgroup starts with no CPUs and no memory nodes, and
// no task can join it until it has some. New copies the parent's values
// into each cpuset directory it creates.
//
// # Devices
//
// On v1, New gives the devices controller Docker's default rules: deny
// everything, then allow mknod of any device ("c *:* m", "b *:* m") and
// read, write and mknod of null, zero, full, random, urandom, tty, console,
// ptmx, the pts devices (136:*) and tun (10:200).
//
// On v2 there is no devices controller: the kernel filters device access
// with an eBPF program (BPF_CGROUP_DEVICE) attached to the cgroup, and this
// package attaches none. On v2, a container can use only the device nodes
// that exist in its filesystems, that is, the /dev the runtime creates with
// the same allowlist. A process that keeps CAP_MKNOD can still create a node
// for any device on a mount without nodev, and open it. So on v2 the runtime
// must drop CAP_MKNOD, or make every writable mount nodev, to keep Docker's
// guarantee.
//
// # Latency of Add
//
// Moving a process between cgroups takes the kernel's global
// cgroup_threadgroup_rwsem for writing, which first waits for an RCU grace
// period when no migration happened for a grace period or so: Add then
// takes 5 to 13 ms on the development VM, 0.3 ms otherwise.
// [WarmMigrations], started about 10 ms before an Add, makes it the fast
// one (BenchmarkAdd). A thread that moves itself on v1 takes no such lock
// ([Manager.TaskFiles]): where [SelfJoin], a container's init joins its v1
// cgroups that way, and only the move into its v2 directory, which holds
// none of its limits then, waits ([Manager.JoinV2]). The wait holds the
// kernel's cgroup_mutex, so every cgroup creation and removal on the host
// waits with it.
//
// # Concurrency
//
// A [Manager] does not change after [New] or [Load] returns it; its methods
// may be called from several goroutines. The package serializes no kernel
// writes itself: concurrent Set calls on one container leave whichever
// limits were written last.
package cgroup
