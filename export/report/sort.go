package report

import (
	"cmp"
	"fmt"
	"slices"
)

// Sort orders names accepted by Options.Sort and Table.Sort.
const (
	SortFlat  = "flat"
	SortCum   = "cum"
	SortCalls = "calls"
	SortName  = "name"
)

// SortOrders lists the accepted sort orders, for flag help and errors.
var SortOrders = []string{SortFlat, SortCum, SortCalls, SortName}

// Sort orders the rows by flat, cum or calls, largest first, or by name.
// Ties fall back to the other measures and finally to name, file and line,
// so the order never depends on the order of the profile's trees.
func (t *Table) Sort(by string) error {
	cmpRows, ok := orders[by]
	if !ok {
		return fmt.Errorf("unknown sort order %q (want one of %v)", by, SortOrders)
	}
	slices.SortStableFunc(t.Rows, func(a, b Row) int {
		if c := cmpRows(a, b); c != 0 {
			return c
		}
		return byName(a, b)
	})
	return nil
}

var orders = map[string]func(a, b Row) int{
	SortFlat: func(a, b Row) int {
		return cmp.Or(cmp.Compare(b.Flat, a.Flat), cmp.Compare(b.Cum, a.Cum), cmp.Compare(b.Calls, a.Calls))
	},
	SortCum: func(a, b Row) int {
		return cmp.Or(cmp.Compare(b.Cum, a.Cum), cmp.Compare(b.Flat, a.Flat), cmp.Compare(b.Calls, a.Calls))
	},
	SortCalls: func(a, b Row) int {
		return cmp.Or(cmp.Compare(b.Calls, a.Calls), cmp.Compare(b.Flat, a.Flat), cmp.Compare(b.Cum, a.Cum))
	},
	SortName: byName,
}

func byName(a, b Row) int {
	return cmp.Or(
		cmp.Compare(a.Func.Name, b.Func.Name),
		cmp.Compare(a.Func.Filename, b.Func.Filename),
		cmp.Compare(a.Func.StartLine, b.Func.StartLine),
	)
}
