// Package profiler runs a Python program under pyprof's agent: it picks the
// interpreter, prepares the agent, creates the rings, starts the program,
// drains the rings while it runs and hands the events to the call-tree
// builder. It is the one place that joins the steps of the data flow
// (agent -> ring -> wire decoder -> callgraph); exporters come after it.
package profiler
