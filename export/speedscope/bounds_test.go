package speedscope

import (
	"strings"
	"testing"
)

func TestReadBounds(t *testing.T) {
	file := func(profiles string) string {
		return `{"$schema":"` + Schema + `","shared":{"frames":[{"name":"f"},{"name":"g"}]},"profiles":[` + profiles + `]}`
	}
	sampled := func(unit, weights string) string {
		return `{"type":"sampled","name":"t","unit":"` + unit + `","startValue":0,"endValue":1,"samples":[[0],[0,1]],"weights":[` + weights + `]}`
	}
	evented := func(end, events string) string {
		return `{"type":"evented","name":"e","unit":"seconds","startValue":0,"endValue":` + end + `,"events":[` + events + `]}`
	}
	const overflow = "values add up past 9223372036854775807, which pyprof cannot count"
	tests := []struct {
		name, data, want string
	}{
		{"sampled weights that add up past an int64", file(sampled("none", "5e18,5e18")), "profile 0 (t): " + overflow},
		{"a weight past an int64 in nanoseconds", file(sampled("seconds", "1e10,1")), "profile 0 (t): " + overflow},
		{"weights of two profiles that add up", file(sampled("none", "3e18,1") + "," + sampled("none", "4e18,4e18")), "profile 1 (t): " + overflow},
		{"nested spans that add up", file(evented("5e9", `{"type":"O","frame":0,"at":0},{"type":"O","frame":1,"at":0},{"type":"C","frame":1,"at":5e9},{"type":"C","frame":0,"at":5e9}`)),
			"profile 0 (e): " + overflow},
		{"a frame left open past an int64", file(evented("1e10", `{"type":"O","frame":0,"at":0}`)), "profile 0 (e): " + overflow},
		{"a duration past an int64", file(evented("1e300", `{"type":"O","frame":0,"at":0},{"type":"C","frame":0,"at":1}`)), "profile 0 (e): " + overflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tt.data))
			if err == nil || err.Error() != "reading speedscope: "+tt.want {
				t.Errorf("Read = %v, want %q", err, "reading speedscope: "+tt.want)
			}
		})
	}
}
