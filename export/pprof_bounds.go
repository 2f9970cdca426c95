package export

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
)

// Bounds on what decoding a pprof allocates, beyond its size in bytes: the
// decoder makes a Go struct of 100-200 bytes for each record (sample,
// location, function, string...) and 8-16 bytes for each number a sample or
// location holds, so a few bytes of input can cost a hundred of memory
// (128 MB of one-frame samples took 3 GB and 24 s to decode here). Real
// profiles are far below both: pyprof writes one sample per calling
// context, other tools one per distinct stack. Tests lower them.
var (
	maxPprofRecords = 2_000_000
	maxPprofNumbers = 32_000_000
)

// gunzipBounded returns data gunzipped when it is gzip, refusing more than
// maxProfileBytes, and data as it is otherwise.
func gunzipBounded(data []byte) ([]byte, error) {
	if !isGzip(data) {
		return data, nil
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decompressing profile: %w", err)
	}
	raw, err := readAllBounded(gz, "the gunzipped pprof")
	if errors.Is(err, ErrTooLarge) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("decompressing profile: %w", err)
	}
	if isGzip(raw) {
		// The decoder would gunzip it again, without a bound.
		return nil, errors.New("decompressing profile: gzip inside gzip is not a pprof")
	}
	return raw, nil
}

func isGzip(data []byte) bool { return len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b }

// profile.proto's field numbers of the messages whose numbers are counted.
const (
	fieldSample   = 2
	fieldLocation = 4
)

// checkPprofRecords counts the records of an uncompressed pprof and the
// numbers its samples and locations hold, without decoding them, and
// refuses a profile past the bounds. It only counts: what is malformed is
// left for the decoder to report.
func checkPprofRecords(data []byte) error {
	var records, numbers int
	for len(data) > 0 {
		field, body, rest, ok := nextField(data)
		if !ok {
			break
		}
		data = rest
		records++
		if field == fieldSample || field == fieldLocation {
			numbers += countVarints(body)
		}
	}
	switch {
	case records > maxPprofRecords:
		return fmt.Errorf("%w: the pprof holds %d records (samples, locations, functions, strings), more than the %d pyprof reads", ErrTooLarge, records, maxPprofRecords)
	case numbers > maxPprofNumbers:
		return fmt.Errorf("%w: the pprof's samples and locations hold %d numbers, more than the %d pyprof reads", ErrTooLarge, numbers, maxPprofNumbers)
	}
	return nil
}

// nextField splits the protobuf field at the start of data into its number,
// its bytes when length-delimited, and what follows it.
func nextField(data []byte) (field uint64, body, rest []byte, ok bool) {
	key, n := binary.Uvarint(data)
	if n <= 0 {
		return 0, nil, nil, false
	}
	data = data[n:]
	switch key & 7 {
	case 0: // varint
		if _, n = binary.Uvarint(data); n <= 0 {
			return 0, nil, nil, false
		}
		return key >> 3, nil, data[n:], true
	case 1: // 64-bit
		if len(data) < 8 {
			return 0, nil, nil, false
		}
		return key >> 3, nil, data[8:], true
	case 2: // length-delimited
		size, n := binary.Uvarint(data)
		if n <= 0 || size > uint64(len(data)-n) {
			return 0, nil, nil, false
		}
		end := n + int(size)
		return key >> 3, data[n:end], data[end:], true
	case 5: // 32-bit
		if len(data) < 4 {
			return 0, nil, nil, false
		}
		return key >> 3, nil, data[4:], true
	}
	return 0, nil, nil, false
}

// countVarints bounds the numbers a message holds: each varint, key or
// value, ends with one byte below 0x80.
func countVarints(body []byte) int {
	n := 0
	for _, b := range body {
		if b < 0x80 {
			n++
		}
	}
	return n
}
