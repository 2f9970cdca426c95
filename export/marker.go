package export

import "strings"

// MarkerName reports whether a frame named name, read from a file, is one
// of the marker frames pyprof writes rather than a function: "[...]"
// ([lost 3 events], [unobserved], the frame standing for the outer frames
// cut at --max-depth) and "<pyprof: ...>" (a stack that changed while it
// was read). Python names never start with either: a qualname starts with
// its module's name.
func MarkerName(name string) bool {
	return strings.HasPrefix(name, "[") || strings.HasPrefix(name, "<pyprof: ")
}
