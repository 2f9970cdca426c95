package view

import "testing"

const (
	// createDynamic is where an extension module's initialisation runs,
	// and with it the imports the extension makes.
	createDynamic = flu + ";importlib._bootstrap._load_unlocked;importlib._bootstrap.module_from_spec;" +
		"importlib._bootstrap_external.ExtensionFileLoader.create_module;importlib._bootstrap._call_with_frames_removed;_imp.create_dynamic"
)

// TestFoldImportsLoadsWithoutCode checks that modules loaded without
// Python code of their own (extensions, built-ins) in a run the tree
// merged with a module that has code get frames of their own: the
// profile does not say which they were, and they are not that module.
func TestFoldImportsLoadsWithoutCode(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{
			name: "extension modules loaded in a run with a module are not charged to it",
			lines: []string{
				"app.<module> 1 100",
				"app.<module>;" + fl + " 3 90",
				"app.<module>;" + flu + " 3 90",
				"app.<module>;" + flu + ";importlib._bootstrap._load_unlocked 3 90",
				"app.<module>;" + createDynamic + " 2 48",
				"app.<module>;" + createDynamic + ";" + fl + " 1 40",
				"app.<module>;" + createDynamic + ";" + load + " 1 40",
				"app.<module>;" + createDynamic + ";" + load + ";numbers.<module> 1 30",
				"app.<module>;" + load + " 1 20",
				"app.<module>;" + load + ";tiny.<module> 1 1",
			},
			want: "app.<module> 1 100\n" +
				"  import tiny 1 1\n    tiny.<module> 1 1\n" +
				"  import (extension module) 2 48\n    import numbers 1 40\n      numbers.<module> 1 30\n" +
				"  import (finding and loading tiny, 2 extension modules) 3 41\n",
		},
		{
			name: "a built-in module loaded in a run with a module is not charged to it",
			lines: []string{
				"app.<module> 1 100",
				"app.<module>;" + fl + " 2 90",
				"app.<module>;" + flu + " 2 90",
				"app.<module>;" + flu + ";importlib._bootstrap._load_unlocked 2 90",
				"app.<module>;" + flu + ";importlib._bootstrap._load_unlocked;importlib._bootstrap.module_from_spec 2 30",
				"app.<module>;" + flu + ";importlib._bootstrap._load_unlocked;importlib._bootstrap.module_from_spec;_imp.create_builtin 1 25",
				"app.<module>;" + flu + ";importlib._bootstrap._load_unlocked;importlib._bootstrap.BuiltinImporter.exec_module 1 5",
				"app.<module>;" + flu + ";importlib._bootstrap._load_unlocked;importlib._bootstrap.BuiltinImporter.exec_module;_imp.exec_builtin 1 5",
				"app.<module>;" + load + " 1 50",
				"app.<module>;" + load + ";a.<module> 1 45",
			},
			want: "app.<module> 1 100\n" +
				"  import a 1 45\n    a.<module> 1 45\n" +
				"  import (built-in module) 1 30\n" +
				"  import (finding and loading a, 1 built-in module) 2 15\n",
		},
		{
			name: "a built-in module runs no Python code",
			lines: []string{
				"app.<module> 1 100",
				"app.<module>;" + fl + " 1 50",
				"app.<module>;" + fl + ";_imp.create_builtin 1 10",
				"app.<module>;" + fl + ";_imp.exec_builtin 1 10",
			},
			want: "app.<module> 1 100\n  import (built-in module) 1 50\n",
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
