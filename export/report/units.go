package report

import (
	"fmt"
	"strconv"

	"github.com/pyprof/pyprof/callgraph"
)

// Human formats x, a quantity of v, for people: durations in ns, us, ms or
// s and samples with k, M or G, both to three significant digits; calls
// whole (exactCount), since every call is counted and the count is exact.
func Human(v callgraph.Value, x int64) string {
	if v == callgraph.Calls {
		return exactCount(x)
	}
	if x < 0 {
		return "-" + human(v, -float64(x))
	}
	return human(v, float64(x))
}

// ChangePercent is the change from base to new in percent of base, as
// diff's text and its flame graph both write it: "new" when base was zero.
func ChangePercent(base, new int64) string {
	switch {
	case base == new:
		return "0%"
	case base == 0:
		return "new"
	}
	return fmt.Sprintf("%+.1f%%", 100*float64(new-base)/float64(base))
}

// HumanDelta is Human with an explicit sign, for changes.
func HumanDelta(v callgraph.Value, x int64) string {
	if x > 0 {
		return "+" + Human(v, x)
	}
	return Human(v, x)
}

// humanFloat is Human for fractional quantities such as a value per call,
// which are averages, not counts: calls per call round like samples.
func humanFloat(v callgraph.Value, x float64) string {
	if x < 0 {
		return "-" + human(v, -x)
	}
	return human(v, x)
}

func human(v callgraph.Value, x float64) string {
	if v >= 0 && v < callgraph.NumValues && v.Info().Unit == "nanoseconds" {
		return scaled(x, []string{"ns", "us", "ms", "s"})
	}
	return scaled(x, []string{"", "k", "M", "G"})
}

// scaled divides x by 1000 until it would no longer round to 1000 or the
// units run out, keeping three significant digits; the last unit keeps
// growing (1234s). Whole numbers below 1000 stay exact.
func scaled(x float64, units []string) string {
	i := 0
	for x >= 999.5 && i < len(units)-1 {
		x /= 1000
		i++
	}
	if i == 0 && x == float64(int64(x)) {
		return strconv.FormatInt(int64(x), 10) + units[0]
	}
	return sig3(x) + units[i]
}

// sig3 formats x with three significant digits, or as an integer once it
// has more than three.
func sig3(x float64) string {
	switch {
	case x >= 99.95:
		return fmt.Sprintf("%.0f", x)
	case x >= 9.995:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// sharePercent formats part as a share of whole, "-" when whole is zero.
func sharePercent(part, whole int64) string {
	if whole == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", 100*float64(part)/float64(whole))
}

// exactCount writes n whole, its digits grouped by thousands (20,000):
// calls are counted one by one, and rounding them (20.0k) would hide the
// difference between 20,000 and 20,001 calls that a changed loop makes.
func exactCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return sign + s
}
