package flamegraph

import (
	"fmt"
	"hash/fnv"
	"math"
	"strings"

	"github.com/pyprof/pyprof/export/view"
)

// fill returns a frame's colour. Colours come from a hash of the name, never
// from a random source, so the same function has the same colour in every
// graph and goldens stay stable.
func fill(f *frame, diff bool) string {
	if diff {
		return diffFill(f)
	}
	h := nameHash(f.name)
	a, b, c := int(h%256), int((h>>8)%256), int((h>>16)%256)
	switch {
	case isImport(f):
		return rgb(95+a*40/255, 175+b*45/255, 80+c*30/255)
	case isIdle(f):
		return rgb(190+a*20/255, 190+a*20/255, 200+a*20/255)
	}
	switch f.kind {
	case kindPython: // warm: reds, oranges, yellows
		return rgb(205+a*50/255, b*230/255, c*55/255)
	case kindNative: // cool: teal to blue
		return rgb(50+a*60/255, 150+b*70/255, 190+c*55/255)
	case kindMarker: // lilac, to stand apart from code
		return rgb(175+a*30/255, 150+b*25/255, 215+c*35/255)
	}
	return rgb(200+a*20/255, 200+a*20/255, 200+a*20/255)
}

func nameHash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// Colours of the differential graph: unchanged frames are light grey, a
// shade from the name's hash so that neighbours stay apart, and intensity
// grows with |log2(new/base)|, full at a factor of two, so a frame that
// doubled and one that halved are equally strong. A frame new to the
// profile is full red.
var (
	diffSlower = [3]float64{225, 45, 45}
	diffFaster = [3]float64{45, 105, 225}
)

func diffFill(f *frame) string {
	g := float64(200 + nameHash(f.name)%36)
	same := [3]float64{g, g, g}
	cur, base := float64(f.cur.total), float64(f.base.total)
	switch {
	case cur == base:
		return mix(same, same, 0)
	case base == 0:
		return mix(same, diffSlower, 1)
	case cur > base:
		return mix(same, diffSlower, intensity(cur/base))
	}
	return mix(same, diffFaster, intensity(base/cur))
}

func intensity(ratio float64) float64 { return min(1, math.Log2(ratio)) }

func mix(from, to [3]float64, t float64) string {
	c := func(i int) int { return int(math.Round(from[i] + (to[i]-from[i])*t)) }
	return rgb(c(0), c(1), c(2))
}

func rgb(r, g, b int) string { return fmt.Sprintf("#%02x%02x%02x", r, g, b) }

// isImport reports whether f is an import folded into one frame.
func isImport(f *frame) bool { return strings.HasPrefix(f.name, view.ImportPrefix) }

// idleNames are the native calls in which a thread waits rather than
// works: locks, sleeps, queues and selectors.
var idleNames = map[string]bool{
	"lock.acquire": true, "_thread.lock.acquire": true, "RLock.acquire": true, "time.sleep": true,
	"SimpleQueue.get": true, "select.select": true, "poll.poll": true, "epoll.poll": true,
	"select.poll.poll": true, "select.epoll.poll": true, "socket.accept": true, "socket.recv": true,
	"posix.waitpid": true, "posix.read": true,
}

// isIdle reports whether f is a call in which a thread waits.
func isIdle(f *frame) bool { return f.kind == kindNative && idleNames[f.name] }

// legend lists what the colours stand for, each with a sample colour.
func legend(diff bool) [][2]string {
	if diff {
		return [][2]string{{rgb(225, 45, 45), "slower (or new)"}, {rgb(45, 105, 225), "faster"}, {rgb(215, 215, 215), "unchanged"}}
	}
	return [][2]string{
		{rgb(230, 120, 25), "Python"}, {rgb(80, 185, 220), "native"}, {rgb(115, 200, 95), "import"},
		{rgb(200, 200, 210), "idle (waiting)"}, {rgb(190, 160, 230), "pyprof marker"},
	}
}
