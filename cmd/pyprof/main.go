package main

import (
	_ "embed"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	buildversion "github.com/pyprof/pyprof/internal/version"
)

//go:embed doc.go
var docSource string

// version is pyprof's version, from the build (internal/version): the
// release, and the commit of a build from a Git checkout.
var version = buildversion.Current()

// manual returns doc.go's package comment: one text for godoc and --help.
func manual() string {
	var b strings.Builder
	for _, line := range strings.Split(docSource, "\n") {
		if !strings.HasPrefix(line, "//") {
			break
		}
		line = strings.TrimPrefix(strings.TrimPrefix(line, "//"), " ")
		b.WriteString(strings.TrimPrefix(line, "\t") + "\n")
	}
	return b.String()
}

// command is one pyprof subcommand.
type command func(args []string, stdout, stderr io.Writer) int

var commands = map[string]command{}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	// A write to a pipe whose reader left (pyprof ... 2>&1 | head) fails
	// with EPIPE instead of killing pyprof: record then ends with the
	// program's status and the profile written, not 141, and the other
	// commands with the status of a failed write. Only a handler does it:
	// ignoring SIGPIPE would pass the ignoring on to the program.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	if len(args) == 0 {
		fmt.Fprint(stderr, manual())
		return exitUsage
	}
	helpOut = stdout
	switch args[0] {
	case "help", "-h", "--help":
		if len(args) > 1 && commands[args[1]] != nil {
			fmt.Fprint(stdout, commandHelp(args[1]))
			return exitOK
		}
		if len(args) > 1 && args[1] != "help" && args[1] != "version" {
			return exitCode(stderr, unknownCommand(args[1]))
		}
		fmt.Fprint(stdout, manual())
		return exitOK
	case "version", "--version":
		fmt.Fprintln(stdout, "pyprof", version)
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		return exitCode(stderr, unknownCommand(args[0]))
	}
	return cmd(args[1:], stdout, stderr)
}

// unknownCommand refuses a command pyprof does not have, suggesting the
// nearest one it has.
func unknownCommand(name string) error {
	if s := suggest(name); s != "" {
		return usagef("unknown command %q: did you mean `pyprof %s`? (`pyprof help` lists them)", name, s)
	}
	return usagef("unknown command %q: run `pyprof help`", name)
}
