package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gatehouse-idp/gatehouse/internal/lifecycle"
)

func newMigrateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations and exit (safe to run on several replicas at once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load()
			if err != nil {
				return err
			}
			res, err := lifecycle.Migrate(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "schema at version %d (%d migrations applied now)\n", res.Version, len(res.Applied))
			return nil
		},
	}
}
