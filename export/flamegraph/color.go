package flamegraph

import (
	"fmt"
	"hash/fnv"
	"math"
	"strings"

	"github.com/pyprof/pyprof/export/view"
)

// fill returns a frame's colour; idle tells that the frame holds idle
// waiting apart from the total (an [idle: …] frame, or a call made in
// one). Colours come from a hash of the name, never from a random source,
// so the same function has the same colour in every graph and goldens stay
// stable.
func fill(f *frame, diff, idle bool) string {
	if diff {
		return diffFill(f)
	}
	h := nameHash(f.name)
	a, b, c := int(h%256), int((h>>8)%256), int((h>>16)%256)
	switch categoryOf(f, idle) {
	case catImport: // greens
		return rgb(95+a*40/255, 175+b*45/255, 80+c*30/255)
	case catIdle: // grey stripes: time in which nothing ran
		return "url(#" + idlePattern + ")"
	case catWaiting: // taupe: muted, but still the program's time
		return rgb(165+a*25/255, 150+b*20/255, 135+c*20/255)
	case catPython: // warm: reds, oranges, yellows
		return rgb(205+a*50/255, b*230/255, c*55/255)
	case catNative: // cool: teal to blue
		return rgb(50+a*60/255, 150+b*70/255, 190+c*55/255)
	case catMarker: // lilac, to stand apart from code
		return rgb(175+a*30/255, 150+b*25/255, 215+c*35/255)
	}
	return rgb(200+a*20/255, 200+a*20/255, 200+a*20/255)
}

// idlePattern is the id of the stripes idle frames are filled with.
const idlePattern = "idle-stripes"

// patterns defines the fills that are not plain colours.
const patterns = `<defs><pattern id="` + idlePattern + `" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
	`<rect width="6" height="6" fill="#ececec"/><rect width="3" height="6" fill="#cdcdcd"/></pattern></defs>`

// category is what a frame's colour says of it, as the legend names it.
type category uint8

const (
	catOther   category = iota // the root and the threads' frames
	catPython                  // Python code
	catNative                  // native callables
	catImport                  // an import folded into one frame
	catWaiting                 // a call in which the program waits for what it asked for
	catIdle                    // an [idle: …] frame (pools and event loops waiting for work), and what it holds when apart
	catMarker                  // another frame pyprof made
)

func categoryOf(f *frame, idle bool) category {
	switch {
	case idle || isIdleFrame(f):
		return catIdle
	case isImport(f):
		return catImport
	case isWaiting(f):
		return catWaiting
	}
	switch f.kind {
	case kindPython:
		return catPython
	case kindNative:
		return catNative
	case kindMarker:
		return catMarker
	}
	return catOther
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

// waitNames are the native calls in which a thread waits rather than
// works: locks, sleeps, queues and selectors. The program asked for that
// waiting, and every view counts it in the total; the waiting of pools and
// event loops for work is what view.FoldIdle puts apart instead.
var waitNames = map[string]bool{
	"lock.acquire": true, "_thread.lock.acquire": true, "RLock.acquire": true, "time.sleep": true,
	"SimpleQueue.get": true, "select.select": true, "poll.poll": true, "epoll.poll": true,
	"select.poll.poll": true, "select.epoll.poll": true, "socket.accept": true, "socket.recv": true,
	"posix.waitpid": true, "posix.read": true,
}

// isWaiting reports whether f is a call in which a thread waits.
func isWaiting(f *frame) bool { return f.kind == kindNative && waitNames[f.name] }

// legendItem is a sample of a colour and what it stands for; an item
// without a colour heads the samples after it.
type legendItem struct{ fill, text string }

// legendText says what each category's colour stands for.
var legendText = map[category]string{
	catPython: "Python", catNative: "native", catImport: "import",
	catWaiting: "waiting the program asked for (in the total)",
	catIdle:    "idle (apart from the total)",
	catMarker:  "pyprof marker",
}

// idleCalls is what the idle colour stands for in a graph of calls, in
// which the calls made while waiting for work count.
const idleCalls = "idle (its calls counted)"

// legend lists what the colours of the frames drawn stand for, each with a
// sample of its colour: only the kinds of frame the picture has. A diff's
// colours say how much a frame changed, in steps drawn as the frames are.
// idle marks the boxes that hold idle waiting apart from the total.
func legend(boxes []box, idle []bool, diff bool) []legendItem {
	if diff {
		same := [3]float64{215, 215, 215}
		step := func(to [3]float64, ratio float64, text string) legendItem {
			return legendItem{mix(same, to, intensity(ratio)), text}
		}
		return []legendItem{
			{"", "slower:"}, step(diffSlower, 1.1, "+10%"), step(diffSlower, 1.5, "+50%"), step(diffSlower, 2, "×2 or new"),
			{"", "faster:"}, step(diffFaster, 1/0.9, "-10%"), step(diffFaster, 1/0.7, "-30%"), step(diffFaster, 2, "halved"),
			{mix(same, same, 0), "unchanged"},
		}
	}
	seen := map[category]bool{}
	apart := false
	for i, b := range boxes {
		seen[categoryOf(b.fr, idle[i])] = true
		apart = apart || idle[i]
	}
	var out []legendItem
	sample := map[category]string{
		catPython: rgb(230, 120, 25), catNative: rgb(80, 185, 220), catImport: rgb(115, 200, 95),
		catWaiting: rgb(178, 160, 145), catIdle: "url(#" + idlePattern + ")", catMarker: rgb(190, 160, 230),
	}
	for _, c := range []category{catPython, catNative, catImport, catWaiting, catIdle, catMarker} {
		switch {
		case !seen[c]:
		case c == catIdle && !apart:
			out = append(out, legendItem{sample[c], idleCalls})
		default:
			out = append(out, legendItem{sample[c], legendText[c]})
		}
	}
	return out
}
