// Package seccomp compiles seccomp profiles to classic BPF and loads them,
// in pure Go (no cgo, no libseccomp).
//
//	f, err := seccomp.Default(caps) // Docker's default profile for these capabilities
//	f, err := seccomp.Compile(cfg)  // an OCI LinuxSeccomp (--security-opt seccomp=...)
//	err = f.Install()               // on the locked thread about to exec the container
//
// Default takes Docker's profile from github.com/moby/profiles/seccomp
// (GetDefaultProfile filters it by capability, kernel version and GOARCH)
// and compiles it; filters are cached per capability set. On amd64 it
// handles x86_64, x32 and i386 system calls; on arm64, aarch64 and arm.
//
// # Semantics
//
// The result matches what Docker gets from runc and libseccomp:
//
//   - a system call of an ABI the profile does not list (or the host cannot
//     run) kills the thread (libseccomp's bad-arch action). The native ABI
//     is always included; x32 calls (the 0x40000000 bit on x86_64) are
//     filtered with the x32 table when SCMP_ARCH_X32 is listed, as in
//     Docker's profile, and killed otherwise;
//   - syscall names are resolved per ABI with the tables of
//     github.com/elastic/go-seccomp-bpf (Linux 6.15, plus the few numbers
//     added since); a name an ABI does not have is skipped, as runc does;
//   - rules whose action equals the default action are dropped (runc);
//   - for one syscall, the first unconditional rule wins over every other
//     rule (libseccomp); otherwise conditional rules are tried in profile
//     order and the first match decides, the default action if none does;
//   - the comparisons of one rule are ANDed, unless the rule compares one
//     argument twice: then each comparison is a rule of its own (runc);
//   - comparisons are unsigned and 64 bits wide; SCMP_CMP_MASKED_EQ is
//     (arg & value) == (valueTwo & value); on 32-bit ABIs (i386, x32, arm)
//     only the low 32 bits of arguments and values are compared
//     (libseccomp);
//   - unless the default action lets calls through (ALLOW, LOG, TRACE),
//     syscalls numbered above the largest one the profile names return
//     ENOSYS, so programs fall back from syscalls newer than the profile
//     (runc's -ENOSYS stub);
//   - SCMP_ACT_ERRNO and SCMP_ACT_TRACE default to EPERM; SCMP_ACT_NOTIFY
//     and listenerPath are not supported; the TSYNC flag is ignored.
//
// One libseccomp feature is missing: on i386 it also applies rules for the
// socket and SysV IPC calls (socket, bind, semop, ...) to the multiplexers
// socketcall(2) and ipc(2). Docker's profile allows both multiplexers
// outright, so this changes nothing for it; a custom profile that denies
// socket(2) does not deny socketcall(2) here.
//
// # Compile strategy
//
// go-seccomp-bpf's own compiler cannot express Docker's profile: it
// handles one ABI (i386 calls fall to the default action, x32 calls get
// ENOSYS), has no SCMP_CMP_MASKED_EQ, tests syscalls one after the other
// and rejects names it does not know. This package uses only its syscall
// tables and generates the program itself, in three steps:
//
//  1. Planning. For each ABI the rules are merged per syscall number as
//     above, and the ABI's number space is cut into intervals with one
//     outcome each: a constant return (ALLOW, ERRNO(EPERM), ENOSYS, ...) or
//     a block testing the syscall's argument conditions. Neighbouring
//     intervals with the same return are merged: the syscalls of Docker's
//     profile become 66 intervals on x86_64, 93 on x32 and 121 on i386.
//
//  2. Code generation. The program loads seccomp_data.arch and jumps to
//     the code of its ABI (x86_64 and x32 share one, told apart by number),
//     loads the syscall number and runs a binary search over the
//     intervals: about eight comparisons to reach any syscall. A leaf
//     returns its constant or tests the arguments: a 64-bit comparison
//     loads the high and the low word of the argument in turn and decides
//     on the high word unless it is equal. Runs of "arg == value" rules
//     with one action (Docker's lists of socket families and personas)
//     load the argument once and take one jump per value.
//
//  3. Assembly. Jumps are symbolic until the end. A conditional jump only
//     reaches 255 instructions, so a target further away is reached through
//     an unconditional jump (32-bit offset) inserted after it; insertions
//     move code, so this is repeated until no jump is out of reach.
//
// On amd64, Docker's default profile compiles to 707 instructions (the
// kernel's limit of 4096 is checked) in about half a millisecond. A system
// call runs 11 to 13 of them on average, 16 at most; socket(2), whose
// address family is checked against a list of about 30, runs up to 48.
// See BenchmarkDefault and TestDefaultPathLength.
package seccomp
