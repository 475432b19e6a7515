package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fleetsim/fleetsim/scenario/spec"
	"github.com/fleetsim/fleetsim/sim"
)

func newValidateCmd() *cobra.Command {
	shards := 1
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenario files without running them",
		Long: `Checks scenario files without running them: YAML syntax, keys, types,
references between their parts and to the Networks catalog. Prints
"FILE: ok" for each valid file and every problem of the others, as
FILE:LINE:COLUMN: FIELD: PROBLEM. Exits with 2 if any file is invalid.
With --shards N, the limits on devices and events apply to each of N
shards (fleetsim run --shard i/N).`,
		Args: minArgs("FILE"),
		RunE: func(c *cobra.Command, files []string) error {
			if shards < 1 || shards > spec.MaxShards {
				return usagef("--shards %d: want 1..%d", shards, spec.MaxShards)
			}
			cat, err := sim.DefaultCatalog()
			if err != nil {
				return err
			}
			code := 0
			for _, file := range files {
				if _, err := spec.LoadValidShards(file, cat, shards); err != nil {
					fmt.Fprintln(c.ErrOrStderr(), err)
					code = 2
					continue
				}
				fmt.Fprintf(c.OutOrStdout(), "%s: ok\n", file)
			}
			return exitCode(code)
		},
	}
	cmd.Flags().IntVar(&shards, "shards", 1, "validate for a run split in `N` shards: the device and event limits apply per shard")
	return cmd
}

func newSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of scenario files",
		Long:  "Prints the JSON Schema (draft 2020-12) of scenario files, for editors and CI.",
		Args:  exactArgs(),
		RunE: func(c *cobra.Command, _ []string) error {
			_, err := c.OutOrStdout().Write(spec.Schema())
			return err
		},
	}
}
