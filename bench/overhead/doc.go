// Overhead measures what profiling costs whole Python programs: each
// workload runs unprofiled, under cProfile, under `pyprof record` and under
// `pyprof record --agent null`, and the table compares their wall times and
// peak memory.
//
// Usage:
//
//	go run ./bench/overhead [flags]
//
// Every round runs every (workload, mode) pair once, in a fresh shuffled
// order, so that a noisy neighbour slows all modes alike rather than one.
// A run is timed from fork to exit of the whole process: pyprof's own
// start-up, agent loading and profile writing are included.
// The first table shows per workload the median wall time of each mode,
// its ratio to unprofiled, pyprof/cProfile and pyprof/null, and the
// geometric mean of those ratios over the workloads; the second the same
// for CPU time (user+system of the whole process tree, pyprof's consumer
// included), which other work on the machine disturbs less; the third the
// peak RSS. Under them, the overhead targets are marked met or not:
// pyprof within 1.15x of the null agent on every workload, a pyprof/cProfile
// geometric mean of at most 0.6, pyprof never slower than cProfile, and the
// program never waiting for pyprof (each pyprof run's wait is read from its
// profile's comments). With five runs or more per cell and the median
// compared, the ratio verdicts give the worst workload's (or the failing
// ones') bootstrap interval: the middle 95% of the ratio of medians when
// each cell's runs are drawn again at random, 2000 times, and "holds 1.00"
// when that range holds the limit, a difference this machine's noise could
// make.
//
// Flags:
//
//	--dir DIR          the workloads: every *.py in DIR, each run as
//	                   `python DIR/name.py [args]` (default bench/workloads
//	                   of the module, whatever the current folder)
//	--workloads LIST   only these files of DIR, e.g. fib.py,cfuncs.py
//	--python LIST      interpreters, one table each (default python3.12).
//	                   A name is looked up on PATH, then among pyenv's
//	                   versions; runs use its real sys.executable, never
//	                   a pyenv shim
//	--rounds N         timed runs of each pair (default 5)
//	--pyprof PATH      the pyprof binary (default: built from this module
//	                   into a temporary folder)
//	--modes LIST       any of unprofiled, cprofile, pyprof, null,
//	                   pyprof-python (the pure-Python twin agent),
//	                   pyprof-nonative (--native-calls=false) and
//	                   pyprof-sample (--mode sample --rate 100)
//	                   (default unprofiled,cprofile,pyprof,null)
//	--args NAME=ARGS   arguments for one workload, e.g. fib.py=27;
//	                   repeatable, or comma-separated
//	--format FORMAT    text, markdown (for the README) or json (every run)
//	--stat STAT        what the ratios compare: median (default) or min,
//	                   each cell's fastest run, the least disturbed when
//	                   other work shares the machine
//	--save FILE        also write the JSON report to FILE
//	--load FILE        print a report saved by --save (in --format, with
//	                   --stat) instead of measuring
//	--seed N           the shuffle's seed (default: from the clock; always
//	                   printed, so a run order can be repeated)
//	--measure LIST     what to measure: overhead (the table), startup,
//	                   scale, all (those three), or instructions
//	                   (default overhead)
//	--scale NAME=A,B   the scale workload and its two sizes (default
//	                   fib.py=32,37 when DIR has fib.py, otherwise
//	                   recursion.py=8,10)
//	--scale-limit SIZE stop a scale run whose pyprof grows past SIZE
//	                   (default 4GiB) and report it as exceeded
//	--timeout D        stop any single run after D (default 10m)
//
// The modes run:
//
//	unprofiled     python script args
//	cprofile       python -m cProfile -o /dev/null script args
//	pyprof         pyprof record -q --python python -o TMP/x.pb.gz -- script args
//	null           pyprof record -q --agent null --python python -o TMP/x.pb.gz -- script args
//	pyprof-python  pyprof record -q --agent python --python python -o TMP/x.pb.gz -- script args
//	pyprof-nonative  pyprof record -q --native-calls=false --python python -o TMP/x.pb.gz -- script args
//	pyprof-sample  pyprof record -q --mode sample --rate 100 --python python -o TMP/x.pb.gz -- script args
//
// Before the rounds, every pyprof mode records `python -c pass` once so that
// the agent is compiled and cached before anything is timed.
//
// Each run is started by a fresh copy of this binary acting as launcher,
// which times the child and takes its rusage: Linux charges a child's peak
// RSS with that of the memory it was forked from, so a child of the
// long-running harness would report at least the harness's own peak.
//
// Columns: "pyprof run" is the duration pyprof writes into the profile
// (duration_nanos: from starting the interpreter to the last drain of the
// rings), so wall minus run is pyprof's own start-up and profile writing.
// Peak RSS comes from wait4's rusage, which Linux fills for the whole tree
// (RUSAGE_BOTH): for pyprof modes it is the larger of pyprof's and the
// interpreter's peak. "spread" is the largest (max-min)/median over the
// modes of a workload: a spread near the ratios' differences means the
// machine was too noisy to tell them apart.
//
// --measure startup times `pyprof record -q -- python -c pass` against
// `python -c pass` (median of at least 10 interleaved runs, agent cached),
// and, interleaved with them, with XDG_CACHE_HOME pointing at an empty
// folder each time: the difference is the first-use cost (probing the
// interpreter, writing the agent, compiling it where none is prebuilt).
//
// --measure scale runs the scale workload under pyprof at its two sizes
// (the second about 10 times longer) and prints the ratio of peak RSS: the
// target is below 1.2. For those runs pyprof's --python is a small
// sh script that starts this harness as a transparent wrapper around the
// interpreter, reporting the interpreter's own peak RSS; pyprof's own peak
// (VmHWM) is read from /proc every 10 ms (growth in its last 10 ms can be
// missed).
//
// --measure instructions counts instead of timing: every workload runs once
// in each mode (pyprof-sample left out: its cost lies outside the program)
// with the Python process under valgrind's cachegrind, and the table gives
// the instructions it executed, the same ratios, null/cProfile (the floor
// for any agent taking the events pyprof takes) and the overhead targets
// counted in instructions. The count is the same from run to run whatever
// else the machine does (PYTHONHASHSEED is fixed at 0), where wall times
// here spread by 30-90%; it leaves out pyprof's consumer (another process)
// and what an instruction costs (rdtsc, cache misses), which only time
// shows. Under valgrind a run takes 20-50 times longer: use --args for
// smaller sizes. Needs valgrind (apt-get install valgrind).
//
// Progress goes to standard error, the tables to standard output. The exit
// status is 0 on success, 1 if a run failed (its standard error is shown)
// and 2 for a bad command line.
package main
