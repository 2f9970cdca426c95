package main

import (
	"slices"
	"strings"
	"testing"
)

func TestFitClauses(t *testing.T) {
	summary := []clause{{"pyprof: 1,234 events", "2 threads", "17 functions", "1.2s"}, {"wrote out.pb.gz", "out.folded"}, {"agent: python"}}
	tests := []struct {
		name    string
		clauses []clause
		width   int
		want    []string
	}{
		{
			name: "fits on one line", clauses: summary, width: 100,
			want: []string{"pyprof: 1,234 events, 2 threads, 17 functions, 1.2s; wrote out.pb.gz, out.folded; agent: python"},
		},
		{
			name: "no limit", clauses: summary, width: 0,
			want: []string{"pyprof: 1,234 events, 2 threads, 17 functions, 1.2s; wrote out.pb.gz, out.folded; agent: python"},
		},
		{
			name: "breaks after a semicolon", clauses: summary, width: 60,
			want: []string{
				"pyprof: 1,234 events, 2 threads, 17 functions, 1.2s;",
				"  wrote out.pb.gz, out.folded; agent: python",
			},
		},
		{
			name: "breaks after a comma", clauses: summary, width: 40,
			want: []string{
				"pyprof: 1,234 events, 2 threads,",
				"  17 functions, 1.2s; wrote out.pb.gz,",
				"  out.folded; agent: python",
			},
		},
		{
			name:    "a part wider than the line stays whole",
			clauses: []clause{{"pyprof: 3 events"}, {"wrote /a/very/long/path/that/does/not/fit.pb.gz"}, {"agent: null"}},
			width:   30,
			want: []string{
				"pyprof: 3 events;",
				"  wrote /a/very/long/path/that/does/not/fit.pb.gz;",
				"  agent: null",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fitClauses(tt.clauses, tt.width, "  ")
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
