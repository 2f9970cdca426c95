package wire

import "encoding/binary"

// The constants below mirror profiler/agent/c/wire.h name for name
// (PYPROF_HDR_SIZE is HdrSize); TestConstantsMatchHeader keeps them honest.
const (
	WireMagic   = 0x3146525059505950
	WireVersion = 4

	HdrSize           = 4096
	HdrMagic          = 0
	HdrVersion        = 8
	HdrNslots         = 12
	HdrRingBytes      = 16
	HdrDataStart      = 24
	HdrClock          = 32
	HdrStatus         = 36
	HdrConsumerPid    = 40
	HdrAgentPid       = 48
	HdrLostNoSlot     = 56
	HdrLostNoConsumer = 64
	HdrHeartbeat      = 72
	HdrLostNoMemory   = 80
	HdrSlotsUsed      = 88
	HdrGaveUp         = 96
	SilentNs          = 5000000000
	HdrError          = 1024
	HdrErrorLen       = 1024

	ClockTsc       = 1
	ClockMonotonic = 2

	StatusStarting  = 0
	StatusRecording = 1
	StatusError     = 2
	StatusToolTaken = 3

	StatusBadProgram  = 4
	StatusWrongPython = 5

	SlotWritePos   = 0
	SlotState      = 8
	SlotGeneration = 12
	SlotWaitNs     = 16
	SlotReadPos    = 64
	SlotCtrlSize   = 128

	DataAlign = 4096

	SlotFree   = 0
	SlotOwned  = 1
	SlotClosed = 2

	KindShift = 60
	IdShift   = 40
	IdBits    = 20
	SiteShift = 28
	SiteBits  = 12
	DeltaBits = 28
	SiteNone  = 0xFFF
	TagNone   = 0
	TagMax    = 4094
	SubShift  = 52
	LenShift  = 28
	LenBits   = 24

	KExt      = 0
	KPyStart  = 1
	KPyResume = 2
	KPyThrow  = 3
	KPyReturn = 4
	KPyYield  = 5
	KPyUnwind = 6
	KCCall    = 7
	KCReturn  = 8
	KCRaise   = 9

	XThread     = 1
	XThreadName = 2
	XCode       = 3
	XCallable   = 4
	XTime       = 5
	XBigId      = 6
	XBigSite    = 7

	CodeHidden = 1

	MaxString      = 4096
	MaxLines       = 65536
	MaxRecordShare = 2

	RegSize    = 24
	RegMagic   = 0
	RegVersion = 8
	RegPid     = 16
	RegOk      = 1
)

// DataStart is where slot 0's ring begins in shared memory of nslots
// slots: after the header and the control blocks, on a DataAlign boundary
// (wire.h's PYPROF_DATA_START).
func DataStart(nslots int) uint64 {
	return HdrSize + (uint64(nslots)*SlotCtrlSize+DataAlign-1)&^(DataAlign-1)
}

// MaxDefinitionBytes is the largest record an agent writes, header word
// and padding included: an XCode definition with its three strings and its
// line table at the agent's caps (MaxString, MaxLines).
const MaxDefinitionBytes = 8 + 3*4 + 3*(4+MaxString) + 4 + MaxLines*8

// MinRingBytes is the smallest ring that holds MaxDefinitionBytes in the
// share of it one record may take (MaxRecordShare): in a smaller ring a
// large code object's definition could not be written at all.
func MinRingBytes() uint64 {
	size := uint64(4096)
	for size < MaxRecordShare*((MaxDefinitionBytes+7)&^7) {
		size *= 2
	}
	return size
}

// RecordSize returns the size in bytes of the record whose first word is
// w: 8 for a hot record, 8 plus the payload padded to 8 for an extended
// one.
func RecordSize(w uint64) int {
	if w>>KindShift != KExt {
		return 8
	}
	return 8 + (int(w>>LenShift&(1<<LenBits-1))+7)&^7
}

// WholeRecords returns how many bytes at the start of buf hold whole
// records: buf may end inside one, as the part of a ring before its end
// does.
func WholeRecords(buf []byte) int {
	off := 0
	for off+8 <= len(buf) {
		n := RecordSize(binary.LittleEndian.Uint64(buf[off:]))
		if n > len(buf)-off {
			break
		}
		off += n
	}
	return off
}
