package view

import (
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
)

// programs is the library predicate of these tests: app and helper are
// the program's modules, everything else the library's.
func programs(f callgraph.Func) bool {
	name := strings.TrimPrefix(f.Name, ImportPrefix)
	return !strings.HasPrefix(name, "app") && !strings.HasPrefix(name, "helper")
}

func TestGroupImports(t *testing.T) {
	const (
		asyncio = "app.<module>;import asyncio;asyncio.<module>"
		events  = asyncio + ";import asyncio.events;asyncio.events.<module>"
		futures = events + ";import concurrent.futures;concurrent.futures.<module>"
	)
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{
			name: "a package's own modules fold into its import, other packages' nest one level",
			lines: []string{
				"app.<module> 1 100",
				"app.<module>;import asyncio 1 80",
				asyncio + " 1 79",
				asyncio + ";collections.namedtuple 3 5",
				asyncio + ";import asyncio.events 1 60",
				events + " 1 59",
				events + ";import concurrent.futures 1 30",
				futures + " 1 29",
				futures + ";import logging 1 20",
				futures + ";import logging;logging.<module> 1 19",
				"app.<module>;app.main 1 15",
			},
			want: "app.<module> 1 100\n" +
				"  app.main 1 15\n" +
				"  import asyncio (2 modules) 1 80\n" +
				"    import concurrent.futures (2 modules) 1 30\n",
		},
		{
			name: "imports that take a minority of their caller's time are one row",
			lines: []string{
				"app.<module> 1 100",
				"app.<module>;import json 1 10",
				"app.<module>;import json;json.<module> 1 9",
				"app.<module>;import json;json.<module>;import json.decoder 1 5",
				"app.<module>;import logging 1 20",
				"app.<module>;import (finding and loading json, logging) 2 4",
				"app.<module>;app.main 1 66",
			},
			want: "app.<module> 1 100\n" +
				"  app.main 1 66\n" +
				"  imports: logging, json (3 modules) 0 34\n",
		},
		{
			name: "one module is counted as one",
			lines: []string{
				"app.<module> 1 100",
				"app.<module>;import json 1 10",
				"app.<module>;import (finding and loading json) 1 4",
				"app.<module>;app.main 1 86",
			},
			want: "app.<module> 1 100\n" +
				"  app.main 1 86\n" +
				"  imports: json (1 module) 0 14\n",
		},
		{
			name: "imports that take most of the time keep a row each",
			lines: []string{
				"app.<module> 1 100",
				"app.<module>;import json 1 30",
				"app.<module>;import logging 1 40",
				"app.<module>;app.main 1 30",
			},
			want: "app.<module> 1 100\n" +
				"  app.main 1 30\n" +
				"  import json 1 30\n" +
				"  import logging 1 40\n",
		},
		{
			name: "a thread's idle waiting, apart, does not make its imports a minority",
			lines: []string{
				"[idle: event loop waiting] 1 1000",
				"import json 1 30",
				"import logging 1 40",
				"app.main 1 30",
			},
			want: "[idle: event loop waiting] 1 1000\n" +
				"app.main 1 30\n" +
				"import json 1 30\n" +
				"import logging 1 40\n",
		},
		{
			name: "the program's own module keeps its code, and its imports group apart",
			lines: []string{
				"app.<module> 1 100",
				"app.<module>;import helper 1 90",
				"app.<module>;import helper;helper.<module> 1 89",
				"app.<module>;import helper;helper.<module>;helper.slow 1 80",
				"app.<module>;import helper;helper.<module>;import re 1 5",
				"app.<module>;import helper;helper.<module>;import re;re.<module> 1 4",
			},
			want: "app.<module> 1 100\n" +
				"  import helper 1 90\n" +
				"    helper.<module> 1 89\n" +
				"      helper.slow 1 80\n" +
				"      import re 1 5\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := build(t, tt.lines...)
			for i, f := range p.Funcs {
				if IsGrouping(callgraph.Func{Name: f.Name, Kind: callgraph.KindNative}) {
					p.Funcs[i] = callgraph.Func{Name: f.Name, Kind: callgraph.KindNative}
				}
				if strings.HasPrefix(f.Name, IdlePrefix) {
					p.Funcs[i] = callgraph.Func{Name: f.Name, Kind: callgraph.KindMarker}
				}
			}
			before := dump(p)
			got := GroupImports(p, callgraph.Wall, programs)
			if d := dump(got); d != tt.want {
				t.Errorf("grouped tree:\n%s\nwant:\n%s", d, tt.want)
			}
			if dump(p) != before {
				t.Errorf("the profile itself changed:\n%s\nwas:\n%s", dump(p), before)
			}
		})
	}
}
