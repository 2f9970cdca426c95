package wire

import (
	"encoding/binary"
)

// encoder writes records the way the agents do, for tests and benchmarks.
type encoder struct {
	buf  []byte
	last uint64
}

func (e *encoder) word(w uint64) {
	e.buf = binary.LittleEndian.AppendUint64(e.buf, w)
}

func (e *encoder) ext(sub int, payload []byte) {
	e.word(uint64(sub)<<SubShift | uint64(len(payload))<<LenShift)
	for len(payload)%8 != 0 {
		payload = append(payload, 0)
	}
	e.buf = append(e.buf, payload...)
}

func (e *encoder) hot(kind, id, site uint32, at uint64) {
	delta := at - e.last
	e.last = at
	e.word(uint64(kind)<<KindShift | uint64(id)<<IdShift | uint64(site)<<SiteShift | delta)
}

// time writes an XTime record: the clock at tick at, as an agent does
// before a record whose delta would not fit.
func (e *encoder) time(at uint64) {
	e.ext(XTime, binary.LittleEndian.AppendUint64(nil, at))
	e.last = at
}

func (e *encoder) thread(tid uint64, at uint64) {
	p := binary.LittleEndian.AppendUint64(nil, tid)
	p = binary.LittleEndian.AppendUint64(p, 1)
	p = binary.LittleEndian.AppendUint64(p, at)
	e.ext(XThread, p)
	e.last = at
}

func str(p []byte, s string) []byte {
	p = binary.LittleEndian.AppendUint32(p, uint32(len(s)))
	return append(p, s...)
}

func (e *encoder) code(id, first uint32, qual, file string, lines [][2]int32) {
	e.codeIn(id, first, qual, file, "", lines)
}

// codeIn defines a code object of a known module.
func (e *encoder) codeIn(id, first uint32, qual, file, module string, lines [][2]int32) {
	p := binary.LittleEndian.AppendUint32(nil, id)
	p = binary.LittleEndian.AppendUint32(p, first)
	p = binary.LittleEndian.AppendUint32(p, 0)
	p = str(str(str(p, qual), file), module)
	p = binary.LittleEndian.AppendUint32(p, uint32(len(lines)))
	for _, l := range lines {
		p = binary.LittleEndian.AppendUint32(p, uint32(l[0]))
		p = binary.LittleEndian.AppendUint32(p, uint32(l[1]))
	}
	e.ext(XCode, p)
}
