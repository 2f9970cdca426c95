// Package flamegraph writes a profile as a self-contained interactive SVG
// flame graph: one box per frame, as wide as its share of the chosen value,
// callees stacked on their callers.
//
// The per-thread call trees are merged by frame name (function name and
// file) under one root, "all". When the profile has more than one thread,
// one level below the root names the thread, so each thread is its own
// tower and threads running the same code are not blended; a single-thread
// profile goes straight from "all" to its entry frames. Threads with the
// same name (and process) share a tower.
//
// The SVG needs no network: its script and style are inline. Clicking a
// frame zooms into it, clicking "all", a faded ancestor or "Reset zoom"
// zooms out; the search box (Ctrl-F focuses it) highlights functions matching
// a regular expression and shows their share of the total; hovering shows a
// frame's function, file:line (the def line: a merged frame stands for
// every line of its function), calls, self and total. Without a script, as
// in an <img> tag, it is still a readable static picture.
//
// The subtitle's total, and every share, is the total pyprof's text views
// show for the same profile: each thread's entry frames, without the idle
// waiting that view.FoldIdle put in [idle: …] frames, which the subtitle
// names beside it. Frames pyprof made (the root, threads, markers, idle
// frames) count no calls of their own and show none. The legend names the
// colours of the kinds of frame drawn; idle waiting is grey stripes, calls
// in which the program waits for what it asked for (in the total) taupe.
//
// To stay fast on large profiles (100k call paths) the SVG holds only the
// frames at least Options.MinWidth pixels wide; their data lives in one
// JSON block of parallel arrays, and zooming rewrites the attributes of
// those frames instead of rebuilding the picture.
//
// With Options.Diff the graph compares two profiles: widths come from the
// new one, colours from the change of each frame's total, red where it grew
// and blue where it shrank, as strong as the change (faint for a few
// percent, full at a factor of two). A base frame is compared with the new
// frame of the function DiffInfo.Match pairs it with, which package diff
// sets to the pairing of its text summary.
package flamegraph
