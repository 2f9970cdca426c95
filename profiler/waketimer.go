package profiler

import (
	"errors"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// wakeTimer is a one-shot timer, like time.Timer, for the drain loop: the
// loop that wakes 100 times a second for as long as the program runs,
// however idle the program is.
//
// Why not time.Timer: Go waits for its timers in epoll_wait, whose timeout
// is in whole milliseconds, rounded down. A 10 ms wait therefore wakes the
// waiting thread after 9 ms to find nothing due, then again a millisecond
// later: two wakeups per drain, each landing on a CPU the program's own
// threads may be waiting for. A timerfd carries nanoseconds: the netpoller
// wakes once, when it expires. Arming and reading it are raw syscalls, which
// Go's scheduler is not told of: a syscall made the usual way while the
// process is otherwise idle wakes the runtime's monitor thread, which then
// checks on the process every 20 µs until it is idle again. Neither blocks,
// which is what a raw syscall needs.
type wakeTimer struct {
	// C receives a value each time the timer expires (the zero time
	// from a timerfd: the loop reads its own clocks).
	C    <-chan time.Time
	c    chan time.Time // C, for Reset to drop an expiry not taken
	fd   int
	file *os.File // fd, registered with the netpoller
	// stopped is set by Stop; done is closed when wait has returned.
	stopped atomic.Bool
	done    chan struct{}
	// fallback is the time.Timer used where no timerfd can be made.
	fallback *time.Timer
}

// newWakeTimer returns a timer that expires once, after d.
func newWakeTimer(d time.Duration) *wakeTimer {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return newFallbackTimer(d)
	}
	file := os.NewFile(uintptr(fd), "pyprof-drain-timer")
	if errors.Is(file.SetReadDeadline(time.Time{}), os.ErrNoDeadline) {
		// The netpoller could not take the fd (epoll's watch limit, say):
		// nothing would wake the loop.
		file.Close()
		return newFallbackTimer(d)
	}
	c := make(chan time.Time, 1)
	t := &wakeTimer{C: c, c: c, fd: fd, file: file, done: make(chan struct{})}
	t.Reset(d)
	go t.wait()
	return t
}

// newFallbackTimer is a wakeTimer on a time.Timer, for where no timerfd
// can be made or waited for.
func newFallbackTimer(d time.Duration) *wakeTimer {
	t := time.NewTimer(d)
	return &wakeTimer{C: t.C, fd: -1, fallback: t}
}

// wait sends on C at each expiry until the timer is stopped.
func (t *wakeTimer) wait() {
	defer close(t.done)
	conn, err := t.file.SyscallConn()
	for err == nil {
		// Read parks this goroutine in the netpoller until the timerfd
		// is readable, then reads the expiration count.
		var errno unix.Errno
		err = conn.Read(func(fd uintptr) bool {
			errno = t.readExpired(fd)
			return errno != unix.EAGAIN
		})
		if err == nil && errno != 0 {
			err = errno // not a timerfd's error: poll below
		}
		if err == nil {
			t.expired()
		}
	}
	// Stopped; or, where the netpoller failed this fd after all, polled
	// every millisecond: a drain loop whose timer stopped expiring would
	// leave the program waiting on full rings. Control holds the fd open
	// while it runs, and fails once Stop has closed it.
	for conn != nil && !t.stopped.Load() {
		time.Sleep(time.Millisecond)
		err := conn.Control(func(fd uintptr) {
			if t.readExpired(fd) == 0 {
				t.expired()
			}
		})
		if err != nil {
			return
		}
	}
}

// readExpired reads the timerfd's expiration count, which clears it; 0 when
// it has expired since last read, EAGAIN when not.
func (t *wakeTimer) readExpired(fd uintptr) unix.Errno {
	var expirations uint64
	_, _, errno := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&expirations)), 8)
	return errno
}

// expired passes one expiry on to C.
func (t *wakeTimer) expired() {
	select {
	case t.c <- time.Time{}:
	default: // an expiry not yet taken stands for this one too
	}
}

// Reset makes the timer expire once, d from now, whether or not it has
// expired or been taken since it was last set. An expiry not yet taken is
// dropped, as time.Timer drops it; one that the waiting goroutine is
// passing on at that moment may still arrive early, which costs the drain
// loops one early pass and nothing else.
func (t *wakeTimer) Reset(d time.Duration) {
	if t.fallback != nil {
		t.fallback.Reset(d)
		return
	}
	if t.stopped.Load() {
		return // the fd may be another file's by now
	}
	select {
	case <-t.c:
	default:
	}
	d = max(d, time.Microsecond) // a zero it_value disarms the timer
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	_, _, _ = unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(t.fd), 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
}

// Stop stops the timer for good and waits for its goroutine to end.
func (t *wakeTimer) Stop() {
	if t.fallback != nil {
		t.fallback.Stop()
		return
	}
	t.stopped.Store(true)
	t.file.Close()
	<-t.done
}
