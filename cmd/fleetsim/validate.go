package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/fleetsim/fleetsim/scenario/spec"

	"github.com/fleetsim/fleetsim/sim"
)

const validateUsage = `Usage: fleetsim validate FILE...

Checks scenario files without running them: YAML syntax, keys, types,
references between their parts and to the Networks catalog. Prints
"FILE: ok" for each valid file and every problem of the others, as
FILE:LINE:COLUMN: FIELD: PROBLEM. Exits with 2 if any file is invalid.
`

// validateCmd is `fleetsim validate FILE...`.
func validateCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fleetsim validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, validateUsage) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, validateUsage)
		return 2
	}
	cat, err := sim.DefaultCatalog()
	if err != nil {
		fmt.Fprintf(stderr, "fleetsim validate: %v\n", err)
		return 1
	}
	code := 0
	for _, file := range fs.Args() {
		if _, err := spec.LoadValid(file, cat); err != nil {
			fmt.Fprintln(stderr, err)
			code = 2
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", file)
	}
	return code
}

const schemaUsage = `Usage: fleetsim schema

Prints the JSON Schema (draft 2020-12) of scenario files, for editors and CI.
`

// schemaCmd is `fleetsim schema`.
func schemaCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fleetsim schema", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, schemaUsage) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fleetsim schema: unexpected argument %q\n\n%s", fs.Arg(0), schemaUsage)
		return 2
	}
	if _, err := stdout.Write(spec.Schema()); err != nil {
		fmt.Fprintf(stderr, "fleetsim schema: %v\n", err)
		return 1
	}
	return 0
}
