package main

import (
	"strings"

	"github.com/pyprof/pyprof/export/report"
)

// A clause is one fact of a summary line, said in parts: the parts of a
// clause are joined by ", ", clauses by "; ".
type clause []string

// fitClauses lays clauses out in lines of at most width columns (no limit
// when width is 0), breaking only between parts or clauses, after their
// comma or semicolon, so that no fact is cut in two; the lines after the
// first start with indent. A part wider than a line by itself (a long
// path) keeps a line of its own, whole, since a path cut would not paste.
func fitClauses(clauses []clause, width int, indent string) []string {
	var lines []string
	line := ""
	for _, c := range clauses {
		for i, part := range c {
			sep := ", "
			if i == 0 {
				sep = "; "
			}
			switch {
			case line == "" && len(lines) == 0:
				line = part
			case width <= 0 || report.Columns(line+sep+part) <= width:
				line += sep + part
			default:
				lines = append(lines, line+strings.TrimSuffix(sep, " "))
				line = indent + part
			}
		}
	}
	return append(lines, line)
}
