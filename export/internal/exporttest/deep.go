package exporttest

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// DeepFolded returns one folded line of depth distinct frames, f0 calling
// f1 down to a leaf with a count of 1: the shape that made the exporters
// quadratic in the depth, every frame below the cut at the default maximum
// depth having a cut path of its own.
func DeepFolded(depth int) string {
	var b strings.Builder
	for i := range depth {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString("f" + strconv.Itoa(i))
	}
	b.WriteString(" 1\n")
	return b.String()
}

// DeepDepths are the depths the deep-stack tests and benchmarks compare:
// the shallowest is below the default maximum depth and cuts nothing.
var DeepDepths = []int{1_000, 10_000, 40_000}

// AllocatedBytes returns the bytes of heap run allocates.
func AllocatedBytes(run func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	run()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// CheckLinear fails unless what measure counts for each of DeepDepths
// grows no faster than the depth, with a quarter for slack: a quadratic
// step grows 100 times from 1,000 to 10,000 frames. Fixed costs only make
// the smaller depths heavier. It stops at the first failure, before a
// quadratic step takes the machine's memory at the next depth.
func CheckLinear(t *testing.T, what string, measure func(depth int) uint64) {
	t.Helper()
	CheckLinearAt(t, what, DeepDepths, measure)
}

// CheckLinearAt is CheckLinear at the given depths, shallowest first.
func CheckLinearAt(t *testing.T, what string, depths []int, measure func(depth int) uint64) {
	t.Helper()
	prev := measure(depths[0])
	for i := 1; i < len(depths); i++ {
		got := measure(depths[i])
		ratio := float64(got) / float64(max(prev, 1))
		linear := float64(depths[i]) / float64(depths[i-1])
		if ratio > 1.25*linear {
			t.Fatalf("%s: %d at %d frames, %d at %d frames: %.1f times for %.0f times the frames",
				what, prev, depths[i-1], got, depths[i], ratio, linear)
		}
		prev = got
	}
}
