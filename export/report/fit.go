package report

import (
	"slices"
	"strings"

	"github.com/pyprof/pyprof/export/internal/pathtail"
)

// minName is the fewest columns a function name is cut to.
const minName = 24

// droppable are the columns of the aligned table a narrow terminal goes
// without, first to last: the running sum and the value per call, which
// the others imply.
var droppable = []string{"sum%", "per call"}

// fitWidth fits the aligned table into width columns where it can:
// locations shortened to the path components that tell the files apart,
// columns left out while names would get fewer than minName columns (first
// those with nothing to say, such as the calls of a sampled profile, then
// those of droppable), then function names cut from the left so that
// their own names stay.
func fitWidth(lines [][]string, width int) [][]string {
	if len(lines) < 2 {
		return lines
	}
	shortenLocations(lines)
	for _, col := range slices.Concat(emptyColumns(lines), droppable) {
		if nameRoom(lines, width) >= minName {
			break
		}
		lines = dropColumn(lines, col)
	}
	floor := minName
	if over := minName - nameRoom(lines, width); over > 0 {
		kept := cutLocations(lines, over)
		floor = max(minName-kept, minTightName)
	}
	room := max(nameRoom(lines, width), floor)
	fn := len(lines[0]) - 2
	for _, l := range lines[1:] {
		l[fn] = shortenName(l[fn], room)
	}
	return lines
}

// shortenLocations rewrites the last column's files to what tells them
// apart.
func shortenLocations(lines [][]string) {
	loc := len(lines[0]) - 1
	var files []string
	for _, l := range lines[1:] {
		files = append(files, fileOf(l[loc]))
	}
	short := distinctSuffixes(files)
	for _, l := range lines[1:] {
		file := fileOf(l[loc])
		l[loc] = short[file] + strings.TrimPrefix(l[loc], file)
	}
}

// minLocation is the fewest columns a location is cut to.
const minLocation = 10

// minTightName is the fewest columns a function name is cut to when
// locations kept columns to stay told apart (cutLocations).
const minTightName = 16

// cutLocations takes over columns from the longest locations, which a
// narrow terminal cannot give whole beside names of minName columns:
// their fronts go, so that the file's own name and the line stay
// (..events.py:1894). Where that would make two files' locations read
// alike (blog/utils.py:2 and shop/utils.py:2 both as ../utils.py:2) the
// locations stay whole, since names are cut from the left too and the two
// rows would then be told apart by nothing: it returns the columns so
// kept, which the names give up.
func cutLocations(lines [][]string, over int) (kept int) {
	loc := len(lines[0]) - 1
	longest := 0
	for _, l := range lines[1:] {
		longest = max(longest, Columns(l[loc]))
	}
	asked := max(longest-over, minLocation)
	limit := asked
	if !cutsStayDistinct(lines[1:], loc, limit) {
		// Cut any shorter than whole, they would differ by a letter or
		// two (..p/models.py, ..g/models.py): whole, they read.
		limit = longest
	}
	for _, l := range lines[1:] {
		l[loc] = keepRight(l[loc], limit, "..")
	}
	return limit - asked
}

// cutsStayDistinct reports whether the locations in column loc, each cut
// to limit columns, still differ wherever they differed whole.
func cutsStayDistinct(rows [][]string, loc, limit int) bool {
	whole := map[string]string{}
	for _, l := range rows {
		cut := keepRight(l[loc], limit, "..")
		if prev, ok := whole[cut]; ok && prev != l[loc] {
			return false
		}
		whole[cut] = l[loc]
	}
	return true
}

// nameRoom is what width leaves for function names beside the other
// columns and the longest location.
func nameRoom(lines [][]string, width int) int {
	loc, fn := len(lines[0])-1, len(lines[0])-2
	cols := make([]int, fn)
	locWidth := 0
	for _, l := range lines {
		for i, c := range l[:fn] {
			cols[i] = max(cols[i], Columns(c))
		}
		locWidth = max(locWidth, Columns(l[loc]))
	}
	lead := 0
	for _, w := range cols {
		lead += w + 2 // padded to the column, then two spaces
	}
	return width - lead - locWidth - 2
}

// emptyColumns are the headers of the numeric columns in which no row has
// a value, only "-".
func emptyColumns(lines [][]string) []string {
	var out []string
	for i, name := range lines[0][:len(lines[0])-2] {
		if !slices.ContainsFunc(lines[1:], func(l []string) bool { return l[i] != "-" }) {
			out = append(out, name)
		}
	}
	return out
}

// dropColumn removes the column headed name.
func dropColumn(lines [][]string, name string) [][]string {
	i := slices.Index(lines[0], name)
	if i < 0 {
		return lines
	}
	for j, l := range lines {
		lines[j] = slices.Delete(slices.Clone(l), i, i+1)
	}
	return lines
}

// fileOf returns the file part of a location "file:line".
func fileOf(location string) string {
	if i := strings.LastIndexByte(location, ':'); i > 0 && strings.Trim(location[i+1:], "0123456789") == "" {
		return location[:i]
	}
	return location
}

// distinctSuffixes maps each path to its shortest tail of whole path
// components that no other path of the set ends with (pathtail.Distinct).
func distinctSuffixes(paths []string) map[string]string {
	return pathtail.Distinct(paths)
}
