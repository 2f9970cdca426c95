// Pyprof profiles Python 3.12+ programs: exact call counts and call trees
// from sys.monitoring, written as pprof profiles and folded stacks.
//
// Usage:
//
//	pyprof record [flags] -- [python3.N [python options]] program [args]
//	pyprof record --pid PID [--duration D] [flags]
//	pyprof dump [--pid] PID
//	pyprof top [--pid] PID [--interval 1s] [--duration D] [flags]
//	pyprof flamegraph PROFILE -o out.svg [flags]
//	pyprof report PROFILE [flags]
//	pyprof diff [flags] BASE NEW, or BASE... -- NEW... (several runs a side)
//	pyprof convert IN -o OUT [--format NAME]
//	pyprof help [COMMAND]
//	pyprof version
//
// Every command prints its own help with --help.
//
// The program is a script, -m module or -c code, with its own arguments
// passed on untouched. Without an interpreter, pyprof runs the one
// `python app.py` would: the Python named by PYPROF_PYTHON (`python -m
// pyprof` sets it to the Python that runs it), else `python3` or `python`
// on PATH when it is 3.12 or newer, else the newest working python3.N
// (N >= 12) on PATH or among pyenv's versions, and says which; --python
// chooses one.
//
// Record flags:
//
//	-o, --output FILE      write the profile to FILE; repeatable. The format
//	                       comes from the extension: .pb.gz .pprof (pprof),
//	                       .folded .txt (folded stacks), .svg (flame graph),
//	                       .speedscope.json (speedscope). Default pyprof.pb.gz;
//	                       - is standard output (with --format), where the
//	                       program's own output then goes to standard error
//	    --format NAME      pprof, folded, svg or speedscope, overriding the
//	                       extensions
//	    --mode MODE        trace (default): every call, exact, through the agent;
//	                       sample: no agent, stacks read from outside at --rate,
//	                       with the executing line of every frame (Python 3.12+,
//	                       one pyprof for every minor version); hybrid: both at
//	                       once, exact calls and wall time with sampled CPU time
//	                       and lines, in one profile
//	    --pid PID          sample a running process (sample mode, implied), no
//	                       restart, until --duration ends, Ctrl-C, or it exits
//	    --duration D       stop sampling after D: 30s, 1m, or seconds as py-spy
//	                       takes them (30, 0.5)
//	    --idle=false       sample mode: drop the stacks of threads not running
//	    --subprocesses     follow the program's child processes, forked ones and
//	                       the Python 3.12+ interpreters it starts (subprocess,
//	                       multiprocessing with fork, spawn and forkserver); each
//	                       child's threads carry its pid (a pid label in pprof).
//	                       Sample mode (and --pid) samples them from outside too;
//	                       in hybrid mode the trace follows them
//	    --rate HZ          samples a second (sample, hybrid); in trace mode, how
//	                       often each thread's CPU clock is read, from outside
//	                       the program, to charge CPU time to the paths running
//	                       (default 100; 0 in trace mode for no cpu values)
//	    --python PATH      the interpreter to run the program with
//	    --agent KIND       auto: the C agent (prebuilt, or compiled once where
//	                       pyprof carries none for the platform) when its checks
//	                       at load pass, else the pure-Python one, with a line
//	                       saying why (such as a free-threaded Python); c,
//	                       python, or null (the same callbacks, nothing
//	                       recorded: the overhead floor)
//	    --native-calls=false  trace Python functions only: no CALL, C_RETURN
//	                       and C_RAISE events, about half the overhead on
//	                       call-heavy code. Time in builtins and other native
//	                       callables counts as their caller's own; call lines
//	                       are read from the caller's frame (a function called
//	                       by native code gets the line of that call); trace
//	                       and hybrid modes
//	    --tool-id N        sys.monitoring tool id to use (default 2, PROFILER_ID)
//	    --buffer-size SIZE ring size per thread, a power of two (default 8MiB)
//	    --max-depth N      write at most N innermost frames of a deeper stack,
//	                       under a marker frame (default 2000)
//	    --timeline FILE    also write a Chrome trace-event / Perfetto timeline of
//	                       every call that lasted at least --timeline-min
//	    --timeline-min D   default 100us; on long runs the bound of 500,000
//	                       calls raises it, keeping the longest
//	-q, --quiet            no status line, no call tree and no summary, unless
//	                       events were lost or sampling took no sample
//	    --report=false     no call tree at exit. On a terminal, record ends
//	                       with where the time went: each thread's heaviest
//	                       calling contexts with exact calls, library frames
//	                       that only lead elsewhere folded, one screen; then
//	                       the command to look further. --report prints it
//	                       off a terminal too
//	    --raw-imports      keep the import machinery's own frames (see below)
//	    --self-profile FILE  write a pprof of pyprof's own Go side (fgprof:
//	                       wall-clock time, on and off CPU)
//
// The program's standard input and output pass through, and pyprof exits
// with the program's exit status (128+N when a signal N killed it). While it
// runs, a status line on stderr shows elapsed time, events and threads when
// stderr is a terminal the program's stdout does not share; at the end, one
// summary line. Ctrl-C reaches the program and the profile is still
// written; a second Ctrl-C stops the program at once.
//
// With --subprocesses, a forked child records into shared memory of its own,
// handed to pyprof over a Unix socket; a new interpreter finds pyprof's
// sitecustomize.py first on PYTHONPATH, with the recording described in
// PYPROF_CHILD (both kept in the environment, so grandchildren are followed
// too; a child started with another environment, or with -E, -I or -S, is
// not). The program's own sitecustomize still runs, and a child's profile
// starts at its own first frame. A child loads the same C agent on any
// Python 3.12+, the pure-Python agent only where the C agent's load-time
// checks refuse (a free-threaded build). Children still running
// when the program exits are waited for up to a second, then written as
// they are; one that starts only as the program exits runs unprofiled. The
// summary says how many children were followed. Without --subprocesses,
// children run unprofiled, and record ends with a line that says how many
// Python children did.
//
// A profile holds these sample types, as pprof names them: calls (count,
// trace and hybrid modes: exact calls), wall (nanoseconds, idle included),
// cpu (nanoseconds on CPU; trace mode with --rate > 0), samples (count,
// sample and hybrid modes) and gil (nanoseconds sampled while the thread
// held the GIL, sample and hybrid modes; wall minus gil is time spent
// waiting for it or in native code that released it). Choose one with
// `go tool pprof -sample_index=gil` or --sample-type.
//
// The files keep every value as recorded; wall is their default. pyprof's
// views (report, report --tree, flamegraph and record's SVG, diff, top,
// record's exit tree) weigh by the default too, with the time the standard
// library's pools and event loops spend waiting for work put apart: a
// concurrent.futures worker in its queue's get, a multiprocessing pool's
// workers and handler threads, an asyncio loop's selector with nothing
// ready. Their header says "(idle apart)" and a line how much was put
// apart; a flame graph holds it in [idle: ...] frames. --idle keeps it
// where it happened.
//
// Analyse the result with `go tool pprof -top pyprof.pb.gz`, or with the
// commands below, which read pprof (pyprof's or any other tool's, such as
// Go's CPU profiles), folded stacks and speedscope files alike.
//
// Imports are frames of their own in every output: the interpreter's
// import machinery (importlib._bootstrap and _bootstrap_external, frozen
// or not) is folded into one frame per import, named for the modules
// imported ("import json"), with its time, the imports it made in turn and
// the modules' top-level code. Imports that the tree merged, such as those
// of one statement, get one frame per module for the module's own code,
// one for the loading of modules of C code (import (extension module)),
// and one naming each module for what they shared. --raw-imports keeps
// the machinery as it ran; on a profile written with its imports folded
// it cannot bring it back, and says so.
//
// flamegraph, report and convert take --hide REGEX (drop the frames whose
// function matches, giving their callees to their callers) and --focus
// REGEX (keep only the calling contexts through a matching frame); every
// command that reads profiles takes --raw-imports.
//
// flamegraph writes a self-contained interactive SVG: click to zoom,
// Ctrl-F or the search box to highlight, hover for details. The title
// names the program, mode, Python and date the profile records, the
// subtitle the sample type; a legend tells Python, native, import, waiting
// and pyprof's marker frames apart (red and blue on a diff). Each frame
// carries a <title>, so hover text works where scripts do not run (an
// <img>, a code host's preview); labels cut the module path on the left so
// the function's name stays; the picture takes the width of its window.
//
//	-o, --output FILE      the SVG to write (required; - for standard output)
//	    --title TEXT       the title
//	    --width PX         image width, 100 to 100000 (default 1200)
//	    --min-width PX     merge frames narrower than this, 0 to --width
//	                       (default 0.33; 0 draws every frame)
//	    --inverted         an icicle graph: roots at the top
//	    --sample-type T    calls, wall, cpu, samples or gil (default: the
//	                       profile's)
//	    --idle             keep pools' idle waiting where it happened
//
// report prints the top functions: flat and cumulative value with shares,
// calls, value per call, file:line. Aligned for a terminal and fitted to
// its width (files shortened to the path components that tell them apart,
// names cut on the left), tab-separated when piped.
//
//	--top N            rows (default 20; 0 for all)
//	--sort KEY         flat, cum, calls or name (default flat)
//	--thread NAME      only this thread
//	--sample-type T    as for flamegraph
//	--idle             as for flamegraph
//	--tree             each thread's call tree instead: every calling
//	                   context with its inclusive value, share and calls,
//	                   heaviest first; past depth 32 lines stop indenting
//	                   and start with [depth N]
//	--min-share PCT    with --tree, fold contexts under PCT percent of the
//	                   total into one line per parent (default 1; 0 for all)
//
// diff compares two profiles: a text summary of the functions that changed
// most, and with -o a differential flame graph (widths from NEW, red slower,
// blue faster). With several runs a side (BASE... -- NEW..., flags first),
// each function's values are the medians of its side's runs, and the gate
// allows for how far the runs lay apart; the graph is drawn from the first
// run of each side.
//
//	-o, --output FILE      the differential SVG
//	    --fail-above PCT   exit 1 when the total or any function regressed by
//	                       more than PCT percent (0 or more) and by more than
//	                       the noise of the sample type and the runs' spread:
//	                       a CI gate. It names the functions that changed
//	                       (their own work per call, or their calls per call
//	                       of another) before those that moved with them, the
//	                       total last. On time or samples, runs that lay
//	                       further apart than PCT percent of the base total,
//	                       or than the total, cannot be judged: with no
//	                       regression beyond that spread, diff says so in one
//	                       line and exits 5 (calls are exact, always judged).
//	                       Profiles that measure unlike things (CPU samples, a
//	                       heap profile's bytes) are refused
//	    --top N            functions shown and regressions named (default
//	                       10; 0 for all); every function is checked
//	    --sample-type T    as for flamegraph
//	    --idle             as for flamegraph (by default the gate leaves
//	                       pools' idle waiting out)
//
// dump prints every thread's Python stack in a running process, read once
// from outside with no agent, as a traceback (most recent call last), with
// whether the thread held the GIL and was on a CPU.
//
// top samples a running process from outside, like dump, and prints every
// --interval the table of report for that interval alone: where the program
// spends its time now. On a terminal each table replaces the last and is
// fitted to its width as report's is.
//
//	--interval D       how often to print, such as 500ms or 0.5 (seconds)
//	                   (default 1s)
//	--duration D       stop after D, such as 30s or, as in py-spy, 30
//	                   (seconds) (default: until Ctrl-C or the process exits)
//	--rate HZ          samples a second (default 100)
//	--top N, --sort K  as for report
//	--idle-threads     sample the threads that are not running too (waiting
//	                   on a lock, I/O or a sleep), as record's sample mode
//	                   does; off by default, to show what runs now
//	--subprocesses     sample its Python descendants too
//
// convert rewrites a profile in another format, chosen by -o's extension or
// --format; -o - writes standard output. A stack deeper than --max-depth
// keeps its innermost frames under a marker frame that says how many
// outer frames were cut, as record writes it.
//
//	--max-depth N      write at most N innermost frames of a deeper stack
//	                   (default 2000)
//
// Outputs are written the way any tool writes what it is told to. A
// regular file, or a new one, is written whole or not at all: a temporary
// file beside it replaces it once complete, keeping the replaced file's
// permission bits (and owner, as root); a new file gets 0666 less the
// umask. Anything else (a device, a FIFO, /dev/stdout) is written in place,
// never replaced, and a symlink is followed and stays a symlink. A file
// with no write permission bit is refused, even for root, as read-only on
// purpose; so is one the user may not write. A SIGINT, SIGTERM or SIGHUP
// while writing removes the temporary files and exits with 128+N.
//
// Profiles read are bounded, so that a crafted file cannot take the
// machine's memory: 256 MiB of data (a pprof once gunzipped), 2,000,000
// pprof records (samples, locations, functions, strings) and 4,000,000
// calling contexts. Values that add up past an int64 are refused. A pprof
// with sample types but no sample is a profile of nothing: reports say
// nothing was recorded.
//
// Names from profiles and processes are printed with control characters
// escaped (\x1b), so that none can drive the terminal.
//
// Exit status of pyprof's own failures (a line starting "pyprof:" says why):
//
//	2  usage: a bad flag or one out of range, a missing script, an unknown
//	   format, an output folder that does not exist or cannot be written, a
//	   profile that is missing, truncated, empty, too large or not a
//	   profile, profiles of unlike things to diff, a --pid, dump or top
//	   process that does not exist
//	3  environment: no Python 3.12+, an interpreter that ended before
//	   pyprof's agent started in it (nothing recorded, no profile
//	   written), the tool id is taken, the C agent
//	   cannot be built with --agent c, a process that may not be read
//	   (ptrace rules) or is not Python 3.12+, an address space limit
//	   (ulimit -v) below the 2097152 KiB record needs (1572864 KiB for
//	   the other commands, enough for pyprof's Go runtime to start)
//	4  the profile could not be written: an output file that may not be
//	   written (read-only, not permitted) or a write that failed, the text
//	   of report, diff, top or dump on standard output included
//	1  diff --fail-above: a regression beyond the threshold
//	5  diff --fail-above on time or samples: too noisy to judge, the runs of
//	   a side lying further apart than the change judged (PCT percent of
//	   the base total) or than the total, and no regression beyond that
//
// Otherwise record exits with the program's own status.
package main
