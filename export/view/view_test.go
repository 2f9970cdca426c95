package view

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
)

// build makes a one-thread profile from lines "a;b;c calls wall": each
// path's node gets those calls and that inclusive wall time (parents are
// given their own line before their children).
func build(t *testing.T, lines ...string) *callgraph.Profile {
	t.Helper()
	p := &callgraph.Profile{Values: []callgraph.Value{callgraph.Calls, callgraph.Wall}, Default: callgraph.Wall}
	ids := map[string]callgraph.FuncID{}
	root := &callgraph.Node{}
	for _, l := range lines {
		// The path may hold spaces (import json): the numbers are last.
		fields := strings.Fields(l)
		if len(fields) < 3 {
			t.Fatalf("line %q: want a path, calls and wall", l)
		}
		path := strings.Join(fields[:len(fields)-2], " ")
		var calls, wall int64
		if _, err := fmt.Sscan(strings.Join(fields[len(fields)-2:], " "), &calls, &wall); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		n := root
		for _, name := range strings.Split(path, ";") {
			id, ok := ids[name]
			if !ok {
				id = p.AddFunc(funcNamed(name))
				ids[name] = id
			}
			n = n.Child(id, 0)
		}
		n.Total[callgraph.Calls], n.Total[callgraph.Wall] = calls, wall
	}
	p.Threads = []*callgraph.Thread{{ID: 1, Name: "MainThread", Root: root}}
	return p
}

// funcNamed guesses a function from its name as the tests write it:
// machinery lives in the frozen file, natives have a dot-free module; a
// name written "plugin.<module>@a/plugin.py" is in that file.
func funcNamed(name string) callgraph.Func {
	if name, file, ok := strings.Cut(name, "@"); ok {
		return callgraph.Func{Name: name, Filename: file, Kind: callgraph.KindPython}
	}
	switch {
	case strings.HasPrefix(name, "importlib._bootstrap"):
		return callgraph.Func{Name: name, Filename: "<frozen importlib._bootstrap>", Kind: callgraph.KindPython}
	case strings.HasPrefix(name, "builtins.") || strings.HasPrefix(name, "posix.") || strings.HasPrefix(name, "_imp."):
		return callgraph.Func{Name: name, Kind: callgraph.KindNative}
	}
	return callgraph.Func{Name: name, Filename: strings.Split(name, ".")[0] + ".py", Kind: callgraph.KindPython}
}

// dump writes the tree as "name calls wall" lines, indented by depth.
func dump(p *callgraph.Profile) string {
	var b strings.Builder
	for _, th := range p.Threads {
		th.Root.Walk(func(path []*callgraph.Node) {
			n := path[len(path)-1]
			fmt.Fprintf(&b, "%s%s %d %d\n", strings.Repeat("  ", len(path)-1), p.Funcs[n.Func].Name, n.Total[callgraph.Calls], n.Total[callgraph.Wall])
		})
	}
	return b.String()
}

const (
	fl   = "importlib._bootstrap._find_and_load"
	flu  = fl + ";importlib._bootstrap._find_and_load_unlocked"
	load = flu + ";importlib._bootstrap._load_unlocked;importlib._bootstrap._call_with_frames_removed;builtins.exec"
)

func TestFoldImports(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{
			name: "one import is one frame named for its module",
			lines: []string{
				"app.<module> 1 100",
				"app.<module>;" + fl + " 1 90",
				"app.<module>;" + flu + " 1 89",
				"app.<module>;" + flu + ";posix.stat 3 10",
				"app.<module>;" + flu + ";importlib._bootstrap._load_unlocked 1 70",
				"app.<module>;" + flu + ";importlib._bootstrap._load_unlocked;importlib._bootstrap._call_with_frames_removed 1 69",
				"app.<module>;" + load + " 1 68",
				"app.<module>;" + load + ";json.<module> 1 60",
				"app.<module>;" + load + ";json.<module>;json.helper 2 20",
			},
			want: "app.<module> 1 100\n  import json 1 90\n    json.<module> 1 60\n      json.helper 2 20\n",
		},
		{
			name: "a parent package imported on the way nests in the import",
			lines: []string{
				"app.<module> 1 100",
				"app.<module>;" + fl + " 1 90",
				"app.<module>;" + flu + " 1 90",
				"app.<module>;" + flu + ";importlib._bootstrap._call_with_frames_removed 1 30",
				"app.<module>;" + flu + ";importlib._bootstrap._call_with_frames_removed;importlib._bootstrap._gcd_import 1 30",
				"app.<module>;" + flu + ";importlib._bootstrap._call_with_frames_removed;importlib._bootstrap._gcd_import;" + fl + " 1 30",
				"app.<module>;" + flu + ";importlib._bootstrap._call_with_frames_removed;importlib._bootstrap._gcd_import;" + load + ";email.<module> 1 25",
				"app.<module>;" + load + " 1 50",
				"app.<module>;" + load + ";email.mime.<module> 1 40",
			},
			want: "app.<module> 1 100\n  import email.mime 1 90\n    import email 1 30\n      email.<module> 1 25\n    email.mime.<module> 1 40\n",
		},
		{
			name: "imports merged by the tree split into one per module and what they shared",
			lines: []string{
				"app.<module> 1 100",
				"app.<module>;" + fl + " 2 90",
				"app.<module>;" + load + " 2 80",
				"app.<module>;" + load + ";a.<module> 1 30",
				"app.<module>;" + load + ";b.<module> 1 40",
			},
			want: "app.<module> 1 100\n  import a 1 30\n    a.<module> 1 30\n  import b 1 40\n    b.<module> 1 40\n  import (finding and loading a, b) 2 20\n",
		},
		{
			name: "an extension module runs no Python code",
			lines: []string{
				"app.<module> 1 100",
				"app.<module>;" + fl + " 1 50",
				"app.<module>;" + fl + ";_imp.create_dynamic 1 40",
			},
			want: "app.<module> 1 100\n  import (extension module) 1 50\n",
		},
		{
			name: "two files imported under one name in one run are two modules",
			lines: []string{
				"app.<module> 1 100",
				"app.<module>;" + fl + " 2 90",
				"app.<module>;" + load + " 2 80",
				"app.<module>;" + load + ";plugin.<module>@/srv/a/plugin.py 1 30",
				"app.<module>;" + load + ";plugin.<module>@/srv/b/plugin.py 1 40",
			},
			want: "app.<module> 1 100\n" +
				"  import plugin (a/plugin.py) 1 30\n    plugin.<module> 1 30\n" +
				"  import plugin (b/plugin.py) 1 40\n    plugin.<module> 1 40\n" +
				"  import (finding and loading plugin (a/plugin.py), plugin (b/plugin.py)) 2 20\n",
		},
		{
			name: "two files imported under one name from two places",
			lines: []string{
				"app.<module> 1 100",
				"app.<module>;app.load_a 1 40",
				"app.<module>;app.load_a;" + fl + " 1 40",
				"app.<module>;app.load_a;" + load + " 1 40",
				"app.<module>;app.load_a;" + load + ";plugin.<module>@/srv/a/plugin.py 1 30",
				"app.<module>;app.load_b 1 50",
				"app.<module>;app.load_b;" + fl + " 1 50",
				"app.<module>;app.load_b;" + load + " 1 50",
				"app.<module>;app.load_b;" + load + ";plugin.<module>@/srv/b/plugin.py 1 45",
			},
			want: "app.<module> 1 100\n" +
				"  app.load_a 1 40\n    import plugin (a/plugin.py) 1 40\n      plugin.<module> 1 30\n" +
				"  app.load_b 1 50\n    import plugin (b/plugin.py) 1 50\n      plugin.<module> 1 45\n",
		},
		{
			name:  "a profile without machinery is left alone",
			lines: []string{"app.<module> 1 100", "app.<module>;app.main 1 90"},
			want:  "app.<module> 1 100\n  app.main 1 90\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := build(t, tt.lines...)
			FoldImports(p)
			if got := dump(p); got != tt.want {
				t.Errorf("folded tree:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestHideAndFocus(t *testing.T) {
	lines := []string{
		"main 1 100",
		"main;parse 2 30",
		"main;parse;re.compile 4 10",
		"main;render 1 60",
		"main;render;re.compile 1 5",
	}
	tests := []struct {
		name        string
		hide, focus string
		want        string
	}{
		{"hide gives callees to callers", "^parse$", "",
			"main 1 100\n  re.compile 4 10\n  render 1 60\n    re.compile 1 5\n"},
		{"focus keeps paths through a match, callers weigh what reached it", "", "^re\\.",
			"main 1 15\n  parse 2 10\n    re.compile 4 10\n  render 1 5\n    re.compile 1 5\n"},
		{"focus on a subtree keeps it whole", "", "render",
			"main 1 60\n  render 1 60\n    re.compile 1 5\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := build(t, lines...)
			var opts Options
			opts.RawImports = true
			if tt.hide != "" {
				opts.Hide = regexp.MustCompile(tt.hide)
			}
			if tt.focus != "" {
				opts.Focus = regexp.MustCompile(tt.focus)
			}
			Apply(p, opts)
			if got := dump(p); got != tt.want {
				t.Errorf("tree:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestFocusDropsThreadsWithoutAMatch(t *testing.T) {
	p := build(t, "main 1 100")
	Focus(p, regexp.MustCompile("nothing"))
	if names := threadNames(p); len(names) != 0 {
		t.Errorf("threads left: %v", names)
	}
}

func threadNames(p *callgraph.Profile) []string {
	var out []string
	for _, th := range p.Threads {
		out = append(out, th.Name)
	}
	return slices.Clip(out)
}
