package sample

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Addr is an address in the target process.
type Addr uint64

// endian is the byte order of the target; pyprof reads processes of its own
// machine, so it is the host's.
var endian = binary.NativeEndian

// memReader reads the target's memory with process_vm_readv: no ptrace stop,
// no agent. Each call costs 250-434 ns here (NOTES, "Reading a Python process
// from outside"), so callers batch: whole structs, whole stack chunks, and
// many code objects per call through several iovecs.
type memReader struct {
	pid   int
	calls atomic.Int64 // process_vm_readv calls made, for Stats and benchmarks
}

// maxIovecs bounds the iovecs of one call; Linux refuses more than IOV_MAX.
const maxIovecs = 1024

// readReq asks for len(buf) bytes at addr.
type readReq struct {
	addr Addr
	buf  []byte
}

// read fills buf from addr; a short read is an error.
func (m *memReader) read(addr Addr, buf []byte) error {
	return m.readv([]readReq{{addr, buf}})
}

// readv fills every request in as few calls as IOV_MAX allows. It fails if
// any byte could not be read: the kernel stops at the first bad iovec.
func (m *memReader) readv(reqs []readReq) error {
	for len(reqs) > 0 {
		n := min(len(reqs), maxIovecs)
		if err := m.readvOnce(reqs[:n]); err != nil {
			return err
		}
		reqs = reqs[n:]
	}
	return nil
}

func (m *memReader) readvOnce(reqs []readReq) error {
	var localArr [16]unix.Iovec
	var remoteArr [16]unix.RemoteIovec
	local, remote := localArr[:0], remoteArr[:0]
	want := 0
	for _, r := range reqs {
		if len(r.buf) == 0 {
			continue
		}
		local = append(local, unix.Iovec{Base: unsafe.SliceData(r.buf)})
		local[len(local)-1].SetLen(len(r.buf))
		remote = append(remote, unix.RemoteIovec{Base: uintptr(r.addr), Len: len(r.buf)})
		want += len(r.buf)
	}
	if want == 0 {
		return nil
	}
	m.calls.Add(1)
	got, err := unix.ProcessVMReadv(m.pid, local, remote, 0)
	if err != nil {
		return m.classify(err, reqs[0].addr)
	}
	if got != want {
		return fmt.Errorf("%w: %d of %d bytes near %#x", errShortRead, got, want, reqs[0].addr)
	}
	return nil
}

// classify turns the errno of process_vm_readv into the package's errors: the
// process is gone, we may not read it, or the address was not mapped (freed
// memory: the target moved while we read).
func (m *memReader) classify(err error, addr Addr) error {
	switch {
	case errors.Is(err, unix.ESRCH):
		return fmt.Errorf("reading pid %d: %w", m.pid, ErrProcessExited)
	case errors.Is(err, unix.EPERM):
		return &PermissionError{PID: m.pid, Err: err}
	case errors.Is(err, unix.EFAULT), errors.Is(err, unix.EINVAL):
		return fmt.Errorf("%w: %#x: %v", errShortRead, addr, err)
	}
	return fmt.Errorf("reading pid %d at %#x: %w", m.pid, addr, err)
}

// u64 and friends decode little fields out of a struct read as bytes.
func u64(b []byte, off uint64) uint64 { return endian.Uint64(b[off:]) }
func u32(b []byte, off uint64) uint32 { return endian.Uint32(b[off:]) }
func ptr(b []byte, off uint64) Addr   { return Addr(endian.Uint64(b[off:])) }
