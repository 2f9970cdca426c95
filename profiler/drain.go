package profiler

import (
	"context"
	"fmt"
	"os/exec"
	"time"

	"github.com/pyprof/pyprof/profiler/clock"
	"github.com/pyprof/pyprof/profiler/ring"
	"github.com/pyprof/pyprof/profiler/wire"
)

// The drain loop: reading the rings while the program runs, and after.

// drainUntil drains the rings every Poll while they fill, less often while
// they are quiet (see pacer), until the program exits,
// forwarding signals and reporting progress.
func (s *session) drainUntil(ctx context.Context, cmd *exec.Cmd, exited <-chan error, started time.Time) error {
	regs, exits := s.registrations()
	lastProgress := time.Now()
	var cpuPeriod time.Duration
	if s.o.CPURate > 0 {
		cpuPeriod = time.Second / time.Duration(s.o.CPURate)
	}
	pace := newPacer(s.o.Poll, s.o.RingBytes, cpuPeriod)
	tick := newWakeTimer(s.o.Poll)
	defer tick.Stop()
	lastCPU, lastReap := time.Now(), time.Now()
	for {
		select {
		case err := <-exited:
			return err
		case sig := <-s.o.Signals:
			_ = cmd.Process.Signal(sig)
		case <-ctx.Done():
			// Asked to stop waiting: end the program now and keep what
			// reached the rings.
			_ = cmd.Process.Kill()
			ctx = context.Background()
		case r := <-regs:
			s.follow(r)
		case e := <-exits:
			s.ended(e)
		case <-tick.C:
			if cpuPeriod > 0 && time.Since(lastCPU) >= cpuPeriod {
				lastCPU = time.Now()
				s.sampleCPU()
			}
			s.tellRecording()
			s.busiest = 0
			s.drainAll()
			wait := pace.next(s.busiest)
			if s.o.OnRecording != nil && !s.recordingTold {
				wait = s.o.Poll // the sampler waits for the news
			}
			tick.Reset(wait)
			if time.Since(lastReap) >= reapPeriod {
				lastReap = time.Now()
				s.reap()
			}
			if s.o.Progress != nil && time.Since(lastProgress) > 250*time.Millisecond {
				lastProgress = time.Now()
				st := s.finishStats()
				st.Elapsed = time.Since(started)
				s.o.Progress(st)
			}
		}
	}
}

// tellRecording calls Options.OnRecording the first time the agent's
// header says it records.
func (s *session) tellRecording() {
	if s.o.OnRecording != nil && !s.recordingTold && s.main.shm.Status() == wire.StatusRecording {
		s.recordingTold = true
		s.o.OnRecording()
	}
}

// procs calls fn for the program's rings, then each child's.
func (s *session) procs(fn func(*procRings)) {
	fn(s.main)
	for _, pr := range s.followed {
		fn(pr)
	}
}

// sampleCPU reads each recording thread's CPU clock, brings its tree up to
// that moment by draining its ring, and charges the CPU time used since the
// last reading to the frames that ran since, as ThreadBuilder.ChargeCPU
// shares it out (the frame a sleeping thread sleeps in last). Threads
// that sleep on the same path are read less often (cpuClocks.due).
func (s *session) sampleCPU() {
	s.procs(func(pr *procRings) {
		if pr.cpu == nil || pr == s.main && s.notes.execAt() != 0 {
			// After an exec the program's threads are the new program's:
			// their CPU time is not the exec call's.
			return
		}
		pr.cpu.nextRound()
		for k, slot := range pr.shm.Active() {
			if slot.State() != wire.SlotOwned {
				continue
			}
			t := pr.thread(k)
			if t == nil {
				continue
			}
			// Drain first, then read the clock: the stack charged is then
			// the one running when the clock was read.
			s.drainSlot(pr, k, slot, slot.State())
			if pr.thread(k) != t {
				continue // the thread ended meanwhile
			}
			events := pr.decoders[k].Events
			if !pr.cpu.due(t.ID, events) {
				continue
			}
			if ns, onCPU, ok := pr.cpu.delta(t.ID, events); ok {
				t.ChargeCPU(ns, onCPU, s.now(pr), clock.MonotonicNanos())
			}
		}
	})
}

// drainAll empties every ring once and recycles the slots of ended threads.
func (s *session) drainAll() {
	// Every process's rings: a producer that finds a full ring waits only
	// as long as pyprof says it drains (see the agent's consumer_silent).
	now := clock.MonotonicNanos()
	s.procs(func(pr *procRings) { pr.shm.Beat(now) })
	s.procs(s.drainProc)
}

// flushDecoders decodes the records the decoders of pr held back (see
// wire.Decoder.Flush): its recording is over.
func (s *session) flushDecoders(pr *procRings) {
	for k, d := range pr.decoders {
		if d == nil {
			continue
		}
		if err := d.Flush(); err != nil && !pr.failed[k] {
			pr.failed[k] = true
			s.stats.DecodeErrors++
			s.o.notice(fmt.Sprintf("ring %d: %v", k, err))
		}
	}
}

func (s *session) drainProc(pr *procRings) {
	for k, slot := range pr.shm.Active() {
		if state := slot.State(); state != wire.SlotFree {
			s.drainSlot(pr, k, slot, state)
		}
	}
}

// drainSlot decodes what one ring holds; a ring whose thread ended (state
// read before draining) is recycled.
func (s *session) drainSlot(pr *procRings, k int, slot *ring.Slot, state uint32) {
	d := pr.decoder(k)
	n, err := slot.Drain(func(b []byte) error {
		if pr.failed[k] {
			return nil
		}
		return d.Decode(b)
	})
	s.busiest = max(s.busiest, uint64(n))
	if err != nil && !pr.failed[k] {
		// A ring that cannot be decoded is skipped from here on; its
		// thread's tree stops where the damage began.
		pr.failed[k] = true
		s.stats.DecodeErrors++
		if pr.pid != 0 {
			s.o.notice(fmt.Sprintf("child %d: ring %d: %v", pr.pid, k, err))
		} else {
			s.o.notice(fmt.Sprintf("ring %d: %v", k, err))
		}
	}
	if state != wire.SlotClosed {
		return
	}
	s.stats.ProducerWait += time.Duration(slot.WaitNanos())
	if t := d.Thread(); t != nil && pr.cpu != nil {
		pr.cpu.forget(t.ID)
	}
	d.Reset()
	pr.failed[k] = false
	// Give the memory back before the slot is published as free:
	// afterwards a new thread may already be writing into it.
	pr.shm.Release(k)
	slot.Free()
}

// stats counts the events decoded from the process's rings, the time its
// threads still owning a slot waited, and the events it lost.
func (pr *procRings) stats() Stats {
	var st Stats
	for _, d := range pr.decoders {
		if d != nil {
			st.Events += d.Events
		}
	}
	for _, slot := range pr.shm.Active() {
		if slot.State() != wire.SlotFree {
			st.ProducerWait += time.Duration(slot.WaitNanos())
		}
	}
	noSlot, noConsumer, noMemory := pr.shm.Lost()
	st.Lost = int64(noSlot + noConsumer + noMemory)
	st.LostNoMemory = int64(noMemory)
	return st
}

func (s *session) finishStats() Stats {
	st := s.stats
	st.Events, st.Lost, st.LostNoMemory = s.retired.Events, s.retired.Lost, s.retired.LostNoMemory
	st.ProducerWait += s.retired.ProducerWait
	s.procs(func(pr *procRings) {
		ps := pr.stats()
		st.Events += ps.Events
		st.Lost += ps.Lost
		st.LostNoMemory += ps.LostNoMemory
		st.ProducerWait += ps.ProducerWait
	})
	st.Threads = s.builder.Threads()
	st.Mismatched = s.builder.Mismatched()
	return st
}
