package profiler

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pyprof/pyprof/profiler/clock"
	"github.com/pyprof/pyprof/profiler/wire"
)

// childListener takes the registrations of followed child processes
// (wire.h, child processes) on a Unix socket, in goroutines of its own. The
// drain loop receives them from regs and learns of exits from exits: it
// stays the only goroutine that touches rings and the builder.
type childListener struct {
	// name is the socket's abstract name, without its leading NUL: nothing
	// in the file system to leave behind or to guard, and unpredictable, so
	// that another program cannot take it first.
	name string
	// clk is the recording's clock, on which a child's end is stamped.
	clk   clock.Kind
	ln    *net.UnixListener
	regs  chan childReg
	exits chan childExit
	done  chan struct{}

	mu     sync.Mutex
	serial uint64 // numbers registrations
	conns  map[*net.UnixConn]bool
	wg     sync.WaitGroup
	closed sync.Once
}

// childReg is one child's registration: its pid and its rings' memfd. The
// drain loop owns file once it has received the registration, and answers
// on reply (buffered) whether it drains the rings from now on.
type childReg struct {
	pid    int
	serial uint64
	file   *os.File
	reply  chan error
}

// childExit says that registration serial of process pid ended. A process
// that execs another Python keeps its pid and registers again: the serial
// tells the end of its old registration from the new one. at is when the
// connection ended, on both clocks a child's events may use, read as soon
// as it did: the drain loop may take it up much later, and the child's
// last frames (os._exit's) end when it ended, not when pyprof got to it.
type childExit struct {
	pid    int
	serial uint64
	at     stamp
}

// stamp is one moment on the recording's clock and on the monotonic
// clock.
type stamp struct {
	clk, nanos int64
}

// registrationTimeout bounds how long a connecting process may take to
// send its registration.
const registrationTimeout = 5 * time.Second

func newChildListener(clk clock.Kind) (*childListener, error) {
	var random [8]byte
	if _, err := rand.Read(random[:]); err != nil {
		return nil, err
	}
	name := "pyprof-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(random[:])
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: "@" + name, Net: "unixpacket"})
	if err != nil {
		return nil, fmt.Errorf("listening for child processes: %w", err)
	}
	l := &childListener{name: name, clk: clk, ln: ln, regs: make(chan childReg), exits: make(chan childExit),
		done: make(chan struct{}), conns: map[*net.UnixConn]bool{}}
	l.wg.Add(1)
	go l.serve()
	return l, nil
}

func (l *childListener) serve() {
	defer l.wg.Done()
	for {
		c, err := l.ln.AcceptUnix()
		if err != nil {
			return // closed
		}
		if !l.track(c) {
			c.Close()
			return
		}
		l.wg.Add(1)
		go l.handle(c)
	}
}

// track remembers a connection so that close can end it; false once closed.
func (l *childListener) track(c *net.UnixConn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conns == nil {
		return false
	}
	l.conns[c] = true
	return true
}

func (l *childListener) untrack(c *net.UnixConn) {
	c.Close()
	l.mu.Lock()
	delete(l.conns, c) // a no-op on the nil map after close
	l.mu.Unlock()
}

// handle takes one registration, answers it once the drain loop has the
// rings, then waits for the connection to end: the child exited.
func (l *childListener) handle(c *net.UnixConn) {
	defer l.wg.Done()
	defer l.untrack(c)
	pid, f, err := receiveRegistration(c)
	if err != nil {
		return // the child finds the connection closed and runs unprofiled
	}
	l.mu.Lock()
	l.serial++
	reg := childReg{pid: pid, serial: l.serial, file: f, reply: make(chan error, 1)}
	l.mu.Unlock()
	select {
	case l.regs <- reg:
	case <-l.done:
		f.Close()
		return
	}
	if err := <-reg.reply; err != nil {
		return
	}
	if _, err := c.Write([]byte{wire.RegOk}); err != nil {
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	var b [1]byte
	for {
		if _, err := c.Read(b[:]); err != nil {
			break
		}
	}
	at := stamp{clk: clock.Now(l.clk), nanos: clock.MonotonicNanos()}
	select {
	case l.exits <- childExit{pid, reg.serial, at}:
	case <-l.done:
	}
}

// receiveRegistration reads the one message a child sends and checks it:
// a peer of this user (another user's process could otherwise make pyprof
// map memory of its choosing), whose pid is the one it says, with one
// descriptor attached.
func receiveRegistration(c *net.UnixConn) (int, *os.File, error) {
	cred, err := peerCred(c)
	if err != nil {
		return 0, nil, err
	}
	if cred.Uid != uint32(os.Getuid()) {
		return 0, nil, fmt.Errorf("registration from uid %d", cred.Uid)
	}
	_ = c.SetReadDeadline(time.Now().Add(registrationTimeout))
	msg := make([]byte, wire.RegSize+1)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, flags, _, err := c.ReadMsgUnix(msg, oob)
	if err != nil {
		return 0, nil, err
	}
	fds, err := rights(oob[:oobn])
	if err != nil {
		return 0, nil, err
	}
	if len(fds) != 1 || flags&unix.MSG_CTRUNC != 0 {
		closeAll(fds)
		return 0, nil, fmt.Errorf("registration with %d descriptors", len(fds))
	}
	le := binary.LittleEndian
	pid := int(le.Uint64(msg[wire.RegPid:]))
	if n != wire.RegSize || le.Uint64(msg[wire.RegMagic:]) != wire.WireMagic ||
		le.Uint32(msg[wire.RegVersion:]) != wire.WireVersion || pid != int(cred.Pid) {
		closeAll(fds)
		return 0, nil, errors.New("malformed registration")
	}
	return pid, os.NewFile(uintptr(fds[0]), "pyprof-rings-"+strconv.Itoa(pid)), nil
}

func peerCred(c *net.UnixConn) (*unix.Ucred, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	return cred, cerr
}

// rights returns the descriptors passed in a control message.
func rights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for i := range msgs {
		more, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			closeAll(fds)
			return nil, err
		}
		fds = append(fds, more...)
	}
	return fds, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// close stops taking registrations, ends every connection and waits for
// the goroutines. Registrations not yet received by the drain loop are
// refused: those children run unprofiled.
func (l *childListener) close() {
	l.closed.Do(func() {
		close(l.done)
		l.ln.Close()
		l.mu.Lock()
		for c := range l.conns {
			c.Close()
		}
		l.conns = nil
		l.mu.Unlock()
		l.wg.Wait()
	})
}

// processGone reports whether pid has exited: no /proc entry, or a zombie
// its parent has not reaped yet. It backs up the end of a child's
// connection, which a grandchild that inherited the socket (a fork that
// ran no Python hooks) would keep open.
func processGone(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses and
	// may hold anything, so look after the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return false
	}
	state := stat[i+2]
	return state == 'Z' || state == 'X'
}
