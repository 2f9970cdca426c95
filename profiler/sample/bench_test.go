package sample

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// cpuTime returns the CPU time (user and system) this process has used:
// what sampling costs, where wall time on a loaded machine would also
// count waiting for a CPU.
func cpuTime(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchTarget starts recursion.py with a 50-frame stack under each
// supported interpreter and runs fn as a sub-benchmark with the attached
// process, after one warm-up sample has decoded every code object.
func benchTarget(b *testing.B, fn func(b *testing.B, p *Process)) {
	for _, py := range supportedPythons(b) {
		b.Run(py.name(), func(b *testing.B) {
			tg := startTarget(b, py, "recursion.py", "48")
			p := attach(b, tg)
			time.Sleep(50 * time.Millisecond)
			s, err := p.Sample()
			if err != nil {
				b.Fatal(err)
			}
			if n := len(s.Threads[0].Frames); n != 50 {
				b.Fatalf("%d frames, want 50", n)
			}
			reads, iovecs := p.Reads(), p.mem.iovecs.Load()
			b.ResetTimer()
			cpu := cpuTime(b)
			fn(b, p)
			cpu = cpuTime(b) - cpu
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/op")
			b.ReportMetric(float64(p.Reads()-reads)/n, "reads/op")
			b.ReportMetric(float64(p.mem.iovecs.Load()-iovecs)/n, "iovecs/op")
		})
	}
}

// mainThreadState returns the address of the first thread state and a
// buffer for its header.
func mainThreadState(b *testing.B, p *Process) (Addr, []byte) {
	var b8 [8]byte
	if err := p.mem.read(p.runtime+Addr(p.lay.runtimeInterpHead), b8[:]); err != nil {
		b.Fatal(err)
	}
	ih := make([]byte, p.lay.interpSize())
	if err := p.mem.read(ptr(b8[:], 0), ih); err != nil {
		b.Fatal(err)
	}
	return ptr(ih, p.lay.interpThreads), make([]byte, p.lay.threadStateSize())
}

// BenchmarkWalk50 measures reading one 50-frame stack: frames, code
// object validation, consistency check and line numbers.
func BenchmarkWalk50(b *testing.B) {
	benchTarget(b, func(b *testing.B, p *Process) {
		ts, hdr := mainThreadState(b, p)
		for b.Loop() {
			if err := p.mem.read(ts, hdr); err != nil {
				b.Fatal(err)
			}
			if _, err := p.walk(ts, hdr); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSample50 measures a whole sample of a process whose one thread
// has 50 frames: runtime, interpreter, GIL, thread state, stack and the
// thread's /proc state and CPU time.
func BenchmarkSample50(b *testing.B) {
	benchTarget(b, func(b *testing.B, p *Process) {
		for b.Loop() {
			if _, err := p.Sample(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSampleAdd50 adds aggregation into the call tree to
// BenchmarkSample50.
func BenchmarkSampleAdd50(b *testing.B) {
	benchTarget(b, func(b *testing.B, p *Process) {
		bl := NewBuilder(DefaultOptions())
		for b.Loop() {
			s, err := p.Sample()
			if err != nil {
				b.Fatal(err)
			}
			bl.Add(0, s)
		}
	})
}

// BenchmarkWalk50Replayed measures pyprof's own work for one 50-frame
// stack, without the cost of reading the target: the memory reader replays
// the bytes of the previous sample instead of reading them again.
func BenchmarkWalk50Replayed(b *testing.B) {
	benchTarget(b, func(b *testing.B, p *Process) {
		ts, hdr := mainThreadState(b, p)
		walk := func() {
			p.mem.beginSample()
			defer p.mem.endSample(true)
			if err := p.mem.read(ts, hdr); err != nil {
				b.Fatal(err)
			}
			if _, err := p.walk(ts, hdr); err != nil {
				b.Fatal(err)
			}
		}
		walk() // records the walk's reads
		walk() // replays them, reading the target once
		p.mem.frozen = true
		defer func() { p.mem.frozen = false }()
		for b.Loop() {
			walk()
		}
	})
}

// BenchmarkReadCosts measures what reading costs on this machine: a
// process_vm_readv call, by size and by number of iovecs, and the /proc
// reads made per thread per sample. mem.go's choices (merge nearby reads,
// replay in one call) follow from these numbers.
func BenchmarkReadCosts(b *testing.B) {
	py := supportedPythons(b)[0]
	tg := startTarget(b, py, "sleeping.py")
	p := attach(b, tg)
	read := func(n, size int) func(b *testing.B) {
		return func(b *testing.B) {
			reqs := make([]readReq, n)
			for i := range reqs {
				// 16 KiB apart: too far to be merged.
				reqs[i] = readReq{p.runtime + Addr(i*16<<10), make([]byte, size)}
			}
			for b.Loop() {
				if err := p.mem.readvChunks(reqs); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("1iovec-8B", read(1, 8))
	b.Run("1iovec-8KiB", read(1, 8<<10))
	b.Run("4iovecs-8B", read(4, 8))
	b.Run("16iovecs-8B", read(16, 8))
	tid := int64(tg.pid)
	p.tasks.Read(tid)
	f := p.tasks.files[tid]
	buf := make([]byte, 512)
	b.Run("proc-stat", func(b *testing.B) {
		for b.Loop() {
			preadRaw(f.stat, buf)
		}
	})
	b.Run("proc-schedstat", func(b *testing.B) {
		for b.Loop() {
			preadRaw(f.sched, buf)
		}
	})
}
