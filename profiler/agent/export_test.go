package agent

// BuildC compiles the agent into dir as pyprof does where it carries no
// prebuilt agent, for the tests of that path.
var BuildC = buildC
