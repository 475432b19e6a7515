package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const rootLong = `fleetsim simulates a fleet of cellular IoT devices on Super SIMs.

Environment (a flag wins over FLEETSIM_*, which wins over TWILIO_*):
  FLEETSIM_URL          the running "fleetsim serve" the modem and network commands drive
  FLEETSIM_ACCOUNT_SID  main account SID (also TWILIO_ACCOUNT_SID)
  FLEETSIM_AUTH_TOKEN   its auth token (also TWILIO_AUTH_TOKEN)
  FLEETSIM_API_KEY      API key SID for "run --api" (also TWILIO_API_KEY)
  FLEETSIM_API_SECRET   its secret (also TWILIO_API_SECRET)
  FLEETSIM_HW_PORT      serial port of "hw probe"
  NO_COLOR              no colours in run summaries`

// run is the whole program with its environment injected, so tests run the
// CLI in process. It returns the exit status: 0 success, 1 failure, 2 a
// command line (or configuration) problem, 3 an interrupted scenario run.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	root := newRootCmd(getenv)
	root.SetArgs(normalizeArgs(root, args))
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	var e *exitError
	if !errors.As(err, &e) {
		e = &exitError{code: 1, err: err}
	}
	if e.err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd.CommandPath(), e.err)
	}
	if e.usage {
		printUsageHint(stderr, cmd)
	}
	return e.code
}

// newRootCmd builds the command tree; getenv reads the environment.
func newRootCmd(getenv func(string) string) *cobra.Command {
	root := &cobra.Command{
		Use:               "fleetsim",
		Short:             "Simulate a fleet of cellular IoT devices on Super SIMs",
		Long:              rootLong,
		Version:           versionText(),
		Args:              cobra.ArbitraryArgs,
		RunE:              runGroup,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
	}
	root.SetVersionTemplate("{{.Version}}")
	// A command made of subcommands runs only to report a wrong one: its
	// usage shows the subcommands, not a bare use line.
	root.SetUsageTemplate(strings.Replace(root.UsageTemplate(), "{{if .Runnable}}", "{{if and .Runnable (not .HasAvailableSubCommands)}}", 1))
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	root.AddGroup(
		&cobra.Group{ID: "scenario", Title: "Scenarios:"},
		&cobra.Group{ID: "server", Title: "Simulator:"},
		&cobra.Group{ID: "hw", Title: "Real modems:"},
	)
	add := func(group string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	add("scenario", newRunCmd(getenv), newMergeCmd(getenv), newValidateCmd(), newSchemaCmd())
	add("server", newServeCmd(getenv), newModemCmd(getenv), newNetworkCmd(getenv))
	add("hw", newHWCmd(getenv))
	root.AddCommand(newVersionCmd())
	root.SetHelpCommand(newHelpCmd())
	setDefaults(root)
	return root
}

// setDefaults gives every command of the tree the same conventions: use
// lines spelt out in full, suggestions for a mistyped command.
func setDefaults(c *cobra.Command) {
	c.DisableFlagsInUseLine = true
	c.SuggestionsMinimumDistance = 2
	for _, sub := range c.Commands() {
		setDefaults(sub)
	}
}

// newHelpCmd is `fleetsim help [command]`; unlike cobra's own, it refuses
// a command that does not exist.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:                   "help [command]",
		Short:                 "Help about any command",
		DisableFlagsInUseLine: true,
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := c.Root().Find(args)
			if err != nil {
				return usageErr(err)
			}
			if len(rest) > 0 {
				return unknownCommand(target, rest[0])
			}
			return target.Help()
		},
	}
}

// exitError ends a command with an exit status. err, when set, is printed
// after the command's name; usage adds how to call the command.
type exitError struct {
	code  int
	err   error
	usage bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErr is a command line problem: exit status 2, followed by the usage.
func usageErr(err error) error { return &exitError{code: 2, err: err, usage: true} }

func usagef(format string, a ...any) error { return usageErr(fmt.Errorf(format, a...)) }

// configErr is a problem of the configuration (credentials, environment):
// exit status 2, with a hint rather than the usage.
func configErr(err error) error { return &exitError{code: 2, err: err} }

// exitCode ends with code after the command printed its own messages.
func exitCode(code int) error {
	if code == 0 {
		return nil
	}
	return &exitError{code: code}
}

// printUsageHint follows an error line: a group's commands, or a command's
// use line and where its flags are described.
func printUsageHint(w io.Writer, c *cobra.Command) {
	if c.HasAvailableSubCommands() {
		fmt.Fprint(w, "\n"+c.UsageString())
		return
	}
	fmt.Fprintf(w, "Usage: %s\nRun '%s --help' for the flags.\n", c.UseLine(), c.CommandPath())
}

// runGroup is what a command made of subcommands does with arguments that
// name none of them.
func runGroup(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return usagef("missing command")
	}
	if args[0] == "help" {
		return c.Help()
	}
	return unknownCommand(c, args[0])
}

// unknownCommand is the error for a word that names no subcommand of c,
// with the subcommand it most likely meant.
func unknownCommand(c *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q", name)
	if s := c.SuggestionsFor(name); len(s) > 0 {
		msg += fmt.Sprintf(", did you mean %q?", s[0])
	}
	return usageErr(errors.New(msg))
}

// exactArgs accepts exactly the named arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < len(names) {
			return usagef("missing %s", strings.Join(names[len(args):], " "))
		}
		if len(args) > len(names) {
			return usagef("unexpected argument %q", args[len(names)])
		}
		return nil
	}
}

// minArgs accepts one or more of the named argument.
func minArgs(name string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usagef("missing %s", name)
		}
		return nil
	}
}

// envFirst returns the first of the named variables that is set, and its name.
func envFirst(getenv func(string) string, names ...string) (value, name string) {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v, n
		}
	}
	return "", ""
}

// fromEnv sets a flag the command line did not give from the first of the
// named variables that is set, and returns where its value came from.
func fromEnv(fs *pflag.FlagSet, flag string, getenv func(string) string, names ...string) string {
	if fs.Changed(flag) {
		return "--" + flag
	}
	v, name := envFirst(getenv, names...)
	if name == "" {
		return ""
	}
	if err := fs.Set(flag, v); err != nil {
		return ""
	}
	return name
}

var negativeNumber = regexp.MustCompile(`^-[0-9]`)

// normalizeArgs keeps the command lines of Go's flag package working under
// pflag's conventions: a long flag with one dash (-json) becomes --json,
// and a negative number among the arguments (modem signal 0 -1) stays an
// argument instead of being read as a flag.
func normalizeArgs(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil || cmd.DisableFlagParsing {
		return args
	}
	lookup := func(name string) *pflag.Flag {
		if f := cmd.Flags().Lookup(name); f != nil {
			return f
		}
		return cmd.InheritedFlags().Lookup(name)
	}
	short := func(s string) *pflag.Flag {
		if f := cmd.Flags().ShorthandLookup(s); f != nil {
			return f
		}
		return cmd.InheritedFlags().ShorthandLookup(s)
	}
	var flags, pos []string
	dashed := false // some argument starts with a dash
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			for _, p := range args[i+1:] {
				dashed = dashed || strings.HasPrefix(p, "-")
			}
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case negativeNumber.MatchString(a) && short(a[1:2]) == nil:
			pos, dashed = append(pos, a), true
		case strings.HasPrefix(a, "-") && len(a) > 2:
			name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
			var f *pflag.Flag
			switch {
			case strings.HasPrefix(a, "--"):
				f = lookup(name)
			case len(name) > 1 && lookup(name) != nil: // Go's -name
				a, f = "-"+a, lookup(name)
			case name != "": // shorthands: -xVALUE, -xyz
				f, hasValue = short(name[:1]), hasValue || len(name) > 1
			}
			flags = append(flags, a)
			if f != nil && !hasValue && f.NoOptDefVal == "" && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		case strings.HasPrefix(a, "-") && len(a) == 2:
			flags = append(flags, a)
			if f := short(a[1:]); f != nil && f.NoOptDefVal == "" && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	depth := 0
	for c := cmd; c.HasParent(); c = c.Parent() {
		depth++
	}
	depth = min(depth, len(pos))
	out := append(append([]string{}, pos[:depth]...), flags...)
	if dashed {
		out = append(out, "--")
	}
	return append(out, pos[depth:]...)
}
