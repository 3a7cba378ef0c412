package container

import "github.com/vishvananda/netlink"

// detachVeth removes one of container id's veths with remove (a Detach
// of the network package on a handle in the daemon's namespace).
//
// Removing a veth waits for the kernel's RCU grace periods under the RTNL
// lock, which the teardown of the container's network namespace holds too:
// 10-25 ms on a 2-vCPU machine, as long as the rest of `run --rm true`.
// A container that still runs (network disconnect) loses the interface
// before this returns. One that has exited has it removed in the
// background, off the path of its exit's report and removal; the kernel
// removes it with the namespace anyway unless something else holds that
// (--network container:NAME). Its next start waits for that removal
// (awaitDetach), so the new veth, which has the same name, is never the one
// removed and never clashes with the old one.
func (s *Service) detachVeth(id string, remove func(*netlink.Handle) error) {
	detach := func() {
		if err := withHostNetlink(remove); err != nil {
			s.log.Warn("detach a container from its network", "container", id, "err", err)
		}
	}
	s.mu.Lock()
	if _, running := s.live[id]; running {
		s.mu.Unlock()
		detach()
		return
	}
	if s.detaching == nil {
		s.detaching = map[string]*detaching{}
	}
	d := s.detaching[id]
	if d == nil {
		d = &detaching{done: make(chan struct{})}
		s.detaching[id] = d
	}
	d.left++
	s.mu.Unlock()
	go func() {
		detach()
		s.mu.Lock()
		defer s.mu.Unlock()
		if d.left--; d.left == 0 {
			close(d.done)
			delete(s.detaching, id)
		}
	}()
}

// detaching is the background removal of a container's veths.
type detaching struct {
	left int           // removals under way, guarded by Service.mu
	done chan struct{} // closed when left drops to 0
}

// awaitDetach waits for the background removal of container id's veths
// from its last run, if any is under way. The caller holds id's lock, so
// that no other removal starts meanwhile.
func (s *Service) awaitDetach(id string) {
	s.mu.Lock()
	d := s.detaching[id]
	s.mu.Unlock()
	if d != nil {
		<-d.done
	}
}
