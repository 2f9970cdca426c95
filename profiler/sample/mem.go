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
// no agent. A call once measured 250-434 ns; BenchmarkReadCosts measures
// 2.6-3.4 us a call on the loaded 2-core VM of today, plus ~0.85 us per
// further iovec, while a call's size hardly matters up to a few KiB. So
// callers batch whole structs and stack chunks, and the reader saves both
// calls and iovecs:
//
//   - Within a call, requests that follow each other closely in address
//     share one iovec (merge).
//   - Within a sample the reader replays: every read of the previous sample
//     is redone at the start of the next one, in one call, and the walk's
//     reads are served from that copy as long as they ask for the same
//     addresses and lengths in the same order. The kernel copies the iovecs
//     of a call in order, so the walk sees what a live walk would have seen,
//     only sooner: the second read of a stack is still made after the
//     first. The first read that differs ends the replay: it and every
//     later read of the sample are live. A stack that did not move costs one
//     call per sample.
type memReader struct {
	pid    int
	calls  atomic.Int64 // process_vm_readv calls made, for Stats and benchmarks
	iovecs atomic.Int64 // remote iovecs they carried, for benchmarks

	inSample bool
	frozen   bool       // tests: replay the bytes of the last replay, read nothing
	live     bool       // the replay diverged, or there is none
	replay   []readReq  // previous sample's reads, read again into data
	data     []byte     // backing store of replay
	next     int        // next replay entry to match
	record   []readSpan // this sample's reads
	spare    []readSpan // recycled record
	recBytes int        // bytes in record

	local      []unix.Iovec // reused by readvOnce
	remote     []unix.RemoteIovec
	spans      []span    // reused by merge
	mergedReqs []readReq // reused by merge
	mergeBuf   []byte
}

const (
	// maxReplayBytes and maxReplayReads bound what is replayed; a sample
	// past them replays nothing.
	maxReplayBytes = 8 << 20
	maxReplayReads = 1 << 14
)

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

// readv fills every request, from the replay when it matches, else in as
// few calls as IOV_MAX allows. It fails if any byte could not be read: the
// kernel stops at the first bad iovec.
func (m *memReader) readv(reqs []readReq) error {
	if !m.inSample {
		return m.readvLive(reqs)
	}
	if !m.live && m.fromReplay(reqs) {
		m.remember(reqs)
		return nil
	}
	m.live = true
	if err := m.readvLive(reqs); err != nil {
		return err
	}
	m.remember(reqs)
	return nil
}

// fromReplay serves reqs from the replay if they are its next entries.
func (m *memReader) fromReplay(reqs []readReq) bool {
	if m.next+len(reqs) > len(m.replay) {
		return false
	}
	for i, r := range reqs {
		if e := m.replay[m.next+i]; e.addr != r.addr || len(e.buf) != len(r.buf) {
			return false
		}
	}
	for _, r := range reqs {
		copy(r.buf, m.replay[m.next].buf)
		m.next++
	}
	return true
}

// readSpan is a recorded read: where and how much, not what.
type readSpan struct {
	addr Addr
	n    int
}

// remember adds reqs to this sample's record.
func (m *memReader) remember(reqs []readReq) {
	for _, r := range reqs {
		if len(m.record) >= maxReplayReads || m.recBytes+len(r.buf) > maxReplayBytes {
			m.record, m.recBytes = m.record[:0], 0
			return
		}
		m.record = append(m.record, readSpan{r.addr, len(r.buf)})
		m.recBytes += len(r.buf)
	}
}

// beginSample redoes the previous sample's reads in one go.
func (m *memReader) beginSample() {
	m.inSample, m.live, m.next = true, true, 0
	rec, total := m.record, m.recBytes
	m.record, m.spare, m.recBytes = m.spare[:0], rec[:0], 0
	if m.frozen && len(m.replay) > 0 {
		m.live = false
		return
	}
	m.data = grow(m.data, total)
	m.replay = m.replay[:0]
	off := 0
	for _, r := range rec {
		m.replay = append(m.replay, readReq{r.addr, m.data[off : off+r.n]})
		off += r.n
	}
	if len(m.replay) > 0 {
		m.live = m.readvLive(m.replay) != nil
	}
}

// endSample ends a sample; a failed one is not replayed.
func (m *memReader) endSample(ok bool) {
	m.inSample = false
	if !ok {
		m.record, m.recBytes = m.record[:0], 0
	}
}

// readvLive reads reqs from the target now, merging runs of requests that
// follow each other closely in address into one iovec: each remote iovec
// costs ~0.85 us here (the kernel pins its pages separately), about as
// much as copying two more pages (BenchmarkReadCosts). Callers sort what
// they can (code objects) to make runs. A merged read that fails, because
// the gap crossed unmapped memory, is redone unmerged.
func (m *memReader) readvLive(reqs []readReq) error {
	merged, ok := m.merge(reqs)
	if ok {
		if err := m.readvChunks(merged); err == nil {
			m.scatter(reqs, merged)
			return nil
		} else if !errors.Is(err, errShortRead) {
			return err
		}
	}
	return m.readvChunks(reqs)
}

// mergeGap is the largest gap between two requests read as one.
const mergeGap = 8 << 10

// merge returns reqs with runs of close, ascending requests replaced by one
// request into a scratch buffer; ok is false when nothing merges.
func (m *memReader) merge(reqs []readReq) (merged []readReq, ok bool) {
	spans := m.spans[:0]
	total := 0
	for _, r := range reqs {
		if len(r.buf) == 0 {
			continue
		}
		end := r.addr + Addr(len(r.buf))
		if n := len(spans); n > 0 && r.addr >= spans[n-1].addr && r.addr <= spans[n-1].end+mergeGap {
			if end > spans[n-1].end {
				total += int(end - spans[n-1].end)
				spans[n-1].end = end
			}
			ok = true
			continue
		}
		spans = append(spans, span{r.addr, end})
		total += len(r.buf)
	}
	m.spans = spans
	if !ok {
		return nil, false
	}
	m.mergeBuf = grow(m.mergeBuf, total)
	merged = m.mergedReqs[:0]
	off := 0
	for _, sp := range spans {
		n := int(sp.end - sp.addr)
		merged = append(merged, readReq{sp.addr, m.mergeBuf[off : off+n]})
		off += n
	}
	m.mergedReqs = merged
	return merged, true
}

// span is a range of target memory [addr, end).
type span struct{ addr, end Addr }

// scatter copies what merged reads fetched into the requests' buffers.
func (m *memReader) scatter(reqs, merged []readReq) {
	j := 0
	for _, r := range reqs {
		if len(r.buf) == 0 {
			continue
		}
		for r.addr < merged[j].addr || r.addr+Addr(len(r.buf)) > merged[j].addr+Addr(len(merged[j].buf)) {
			j++
		}
		copy(r.buf, merged[j].buf[r.addr-merged[j].addr:])
	}
}

// readvChunks reads reqs in calls of at most IOV_MAX iovecs.
func (m *memReader) readvChunks(reqs []readReq) error {
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
	local, remote := m.local[:0], m.remote[:0]
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
	m.local, m.remote = local, remote
	if want == 0 {
		return nil
	}
	m.calls.Add(1)
	m.iovecs.Add(int64(len(remote)))
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
