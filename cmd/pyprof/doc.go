// Pyprof profiles Python 3.12+ programs: exact call counts and call trees
// from sys.monitoring, written as pprof profiles and folded stacks.
//
// Usage:
//
//	pyprof record [flags] -- [python3.N [python options]] program [args]
//	pyprof help
//	pyprof version
//
// The program is a script, -m module or -c code, with its own arguments
// passed on untouched. Without an interpreter, pyprof picks the newest
// working python3.N (N >= 12) on PATH or among pyenv's versions and says
// which; --python chooses one.
//
// Record flags:
//
//	-o, --output FILE      write the profile to FILE; repeatable. The format
//	                       comes from the extension: .pb.gz .pprof (pprof),
//	                       .folded .txt (folded stacks). Default pyprof.pb.gz
//	    --format NAME      pprof or folded, overriding the extensions
//	    --mode trace       trace every call (the default and, for now, only mode)
//	    --python PATH      the interpreter to run the program with
//	    --agent KIND       auto (C agent, or the pure-Python one when no compiler
//	                       or Python.h is found), c, python, or null (the same
//	                       callbacks, nothing recorded: the overhead floor)
//	    --tool-id N        sys.monitoring tool id to use (default 2, PROFILER_ID)
//	    --buffer-size SIZE ring size per thread, a power of two (default 8MiB)
//	    --max-depth N      write at most N innermost frames of a deeper stack,
//	                       under a marker frame (default 2000)
//	-q, --quiet            no status line and no summary
//	    --self-profile FILE  write a pprof of pyprof's own Go side (fgprof:
//	                       wall-clock time, on and off CPU)
//
// The program's standard input and output pass through, and pyprof exits
// with the program's exit status (128+N when a signal N killed it). Ctrl-C
// reaches the program and the profile is still written; a second Ctrl-C
// stops the program at once.
//
// Analyse the result with `go tool pprof -top pyprof.pb.gz`, or feed the
// folded stacks to any flame graph tool.
//
// Exit status of pyprof's own failures (a line starting "pyprof:" says why):
//
//	2  usage: a bad flag, a missing script, an unknown format, an output
//	   folder that does not exist or cannot be written
//	3  environment: no Python 3.12+, the tool id is taken, the C agent
//	   cannot be built with --agent c
//	4  the profile could not be written
//	1  diff --fail-above: a regression beyond the threshold
//
// Otherwise record exits with the program's own status.
package main
