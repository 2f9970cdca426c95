package profiler

import (
	"fmt"
	"time"

	"github.com/pyprof/pyprof/profiler/clock"
	"github.com/pyprof/pyprof/profiler/ring"
)

// The session's side of following child processes: the
// drain loop takes registrations and exits from the childListener's
// channels, so that rings and builder stay its own.

// childGrace is how long children still running when the program exits
// are drained, waiting for them to end, before the profile is written.
const childGrace = time.Second

// registrations returns the channels on which children register and end;
// nil channels, which never deliver, when children are not followed.
func (s *session) registrations() (<-chan childReg, <-chan childExit) {
	if s.listener == nil {
		return nil, nil
	}
	return s.listener.regs, s.listener.exits
}

// drainChildren goes on draining once the program has exited, until every
// child followed has ended too or limit has passed.
func (s *session) drainChildren(limit time.Duration) {
	tick := time.NewTicker(s.o.Poll)
	defer tick.Stop()
	deadline := time.After(limit)
	regs, exits := s.registrations()
	lastReap := time.Now()
	for len(s.followed) > 0 {
		select {
		case r := <-regs:
			s.follow(r)
		case e := <-exits:
			s.ended(e)
		case <-tick.C:
			s.drainAll()
			if time.Since(lastReap) >= reapPeriod {
				lastReap = time.Now()
				s.reap()
			}
		case <-deadline:
			return
		}
	}
}

// reapPeriod is how often children are looked for in /proc, in case their
// connection outlives them.
const reapPeriod = 100 * time.Millisecond

// follow starts draining a child's rings and answers its registration.
func (s *session) follow(r childReg) {
	shm, err := ring.Open(r.file)
	if err == nil && shm.Clock() != uint32(s.clk) && shm.Clock() != uint32(clock.Monotonic) {
		shm.Close()
		err = fmt.Errorf("child %d counts time with clock %d", r.pid, shm.Clock())
	}
	if err != nil {
		r.file.Close()
		s.o.notice(fmt.Sprintf("not following child %d: %v", r.pid, err))
		r.reply <- err
		return
	}
	if old := s.followed[r.pid]; old != nil {
		// The process exec'd a new interpreter: what the old one wrote
		// is complete.
		s.childExited(old)
	}
	pr := s.newProc(r.pid, shm, s.builder.NewProcess(int64(r.pid)))
	pr.serial = r.serial
	pr.nanos = shm.Clock() != uint32(s.clk)
	if pr.nanos {
		pr.proc.CountsNanoseconds()
	}
	if s.o.CPURate > 0 {
		pr.cpu = newCPUClocks(r.pid)
	}
	if s.followed == nil {
		s.followed, s.seen = map[int]*procRings{}, map[int]bool{}
	}
	s.followed[r.pid] = pr
	s.seen[r.pid] = true
	s.stats.Children = len(s.seen)
	r.reply <- nil
}

// ended handles the end of a registration's connection, unless the child
// registered again since (it exec'd another Python). The end is a hint,
// not proof: a daemon that closes every descriptor runs on, and so does a
// process that exec'd something else; retiring their rings would leave
// them waiting for room until pyprof exits. /proc says when it is gone.
func (s *session) ended(e childExit) {
	pr := s.followed[e.pid]
	if pr == nil || pr.serial != e.serial {
		return
	}
	pr.hungUp = e.at.clk
	if pr.nanos {
		pr.hungUp = e.at.nanos
	}
	if processGone(e.pid) {
		s.childExited(pr)
	}
}

// childExited drains a child's rings one last time and lets them go.
func (s *session) childExited(pr *procRings) {
	end := s.now(pr)
	if pr.hungUp != 0 {
		end = pr.hungUp // it exited then; reap saw it a little later
	}
	pr.proc.Exit(end)
	s.drainProc(pr)
	s.flushDecoders(pr)
	if at := pr.shm.GaveUp(); at != 0 {
		// Said here: its rings go now, before the program's are read.
		s.o.notice(gaveUpNote(fmt.Sprintf("child process %d", pr.pid), at-s.startNanos))
	}
	st := pr.stats()
	s.retired.Events += st.Events
	s.retired.Lost += st.Lost
	s.retired.LostNoMemory += st.LostNoMemory
	s.retired.ProducerWait += st.ProducerWait
	pr.close()
	delete(s.followed, pr.pid)
}

// reap ends the children that are gone even though their connection is not.
func (s *session) reap() {
	for pid, pr := range s.followed {
		if processGone(pid) {
			s.childExited(pr)
		}
	}
}
