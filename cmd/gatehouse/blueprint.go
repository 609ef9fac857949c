package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-idp/gatehouse/internal/blueprint"
	"github.com/gatehouse-idp/gatehouse/internal/config"
	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/lifecycle"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

func newBlueprintCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "blueprint",
		Short: "Apply and export authentik blueprints (declarative configuration)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newBlueprintApplyCmd(g), newBlueprintExportCmd(g), newBlueprintModelsCmd())
	return cmd
}

func newBlueprintApplyCmd(g *globals) *cobra.Command {
	var (
		dryRun   bool
		fileRoot string
		allowEnv []string
		envPfx   []string
	)
	cmd := &cobra.Command{
		Use:   "apply FILE...",
		Short: "Apply blueprints, each in one transaction (all of it or nothing), in the order given",
		Long: `Apply authentik blueprints to the configured database. Each file is checked
(models, fields), then applied in one transaction: all of it or nothing.
Entries of authentik models Gatehouse does not have yet are skipped and
reported. With --dry-run every entry is applied and rolled back: the output
says what would change, nothing is written. Applying a blueprint twice
changes nothing the second time.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			cfg, log, err := g.load()
			if err != nil {
				return err
			}
			// Every file must parse before anything is applied.
			bps := make([]*blueprint.Blueprint, len(files))
			for i, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				if bps[i], err = blueprint.Parse(data); err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
			}
			ctx := cmd.Context()
			st, sealers, err := openBlueprintStore(ctx, cfg, log)
			if err != nil {
				return err
			}
			defer st.Close()
			policy := blueprint.DefaultEnvPolicy()
			policy.Allow = append(policy.Allow, allowEnv...)
			policy.Prefixes = append(policy.Prefixes, envPfx...)
			// metaapplyblueprint entries apply the instances of the
			// blueprints dir (those the server has discovered).
			instances := &blueprint.Instances{Store: st, Dir: cfg.BlueprintsDir, Log: log, KeySealer: sealers.key,
				TokenSealer: sealers.token, LookupEnv: os.LookupEnv, EnvPolicy: policy}
			out := cmd.OutOrStdout()
			for i, bp := range bps {
				root := fileRoot
				if root == "" {
					root = filepath.Dir(files[i])
				}
				res, err := blueprint.Apply(ctx, st, bp, blueprint.Options{DryRun: dryRun, LookupEnv: os.LookupEnv,
					EnvPolicy: policy, FileRoot: root, KeySealer: sealers.key, TokenSealer: sealers.token, Instances: instances})
				printResult(out, files[i], bp, res, err)
				if err != nil {
					if i+1 < len(bps) {
						fmt.Fprintf(out, "not applied: %s\n", strings.Join(files[i+1:], ", "))
					}
					return exitCode(1) // the error is printed above
				}
			}
			if !dryRun {
				// Running servers cache configuration: tell them.
				if err := lifecycle.AnnounceConfigChange(ctx, cfg, st, log); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: applied, but the running servers were not told (%v); they see the change within seconds\n", err)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check and plan only: apply in a transaction that is rolled back")
	cmd.Flags().StringVar(&fileRoot, "file-root", "", "directory !File may read from (default: the blueprint's directory)")
	cmd.Flags().StringArrayVar(&allowEnv, "allow-env", nil, "environment variable !Env may read (repeatable; secrets included)")
	cmd.Flags().StringArrayVar(&envPfx, "allow-env-prefix", nil, "prefix of variables !Env may read, except secret-looking ones (repeatable)")
	return cmd
}

// printResult writes one line per entry, the warnings and the totals.
func printResult(w io.Writer, file string, bp *blueprint.Blueprint, res blueprint.Result, err error) {
	if bp.Metadata.Name != "" {
		fmt.Fprintf(w, "%s (%s):\n", file, bp.Metadata.Name)
	} else {
		fmt.Fprintf(w, "%s:\n", file)
	}
	width := len(strconv.Itoa(len(bp.Entries)))
	for _, e := range res.Entries {
		if err != nil {
			break // rolled back: the error says which entry failed
		}
		line := fmt.Sprintf("  [%*d] %s", width, e.Index, e.Model)
		if ids := blueprint.FormatIdentifiers(e.Identifiers); ids != "" {
			line += " " + ids
		}
		line += ": " + string(e.Action)
		if e.PK != nil {
			line += fmt.Sprintf(" (pk %v)", e.PK)
		}
		if e.Reason != "" {
			line += ": " + e.Reason
		}
		fmt.Fprintln(w, line)
	}
	for _, warn := range res.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
	if err != nil {
		fmt.Fprintf(w, "  failed, nothing was written:\n")
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
		return
	}
	verb := "applied"
	if res.DryRun {
		verb = "dry run, nothing written"
	}
	inlined := ""
	if res.Inlined > 0 {
		inlined = fmt.Sprintf(" (and %d prompts inlined into their stages)", res.Inlined)
	}
	fmt.Fprintf(w, "  %s: %d created, %d updated, %d unchanged, %d deleted, %d skipped%s\n", verb,
		res.Created, res.Updated, res.Unchanged, res.Deleted, res.Skipped, inlined)
}

func newBlueprintExportCmd(g *globals) *cobra.Command {
	var (
		flow, output, name string
		secrets            bool
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write a blueprint of every object (or of one flow) that re-imports into an empty instance",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			st, _, err := openBlueprintStore(ctx, cfg, log)
			if err != nil {
				return err
			}
			defer st.Close()
			data, err := blueprint.Export(ctx, st, blueprint.ExportOptions{Flow: flow, Secrets: secrets, Name: name})
			if err != nil {
				return err
			}
			if output == "" || output == "-" {
				_, err = cmd.OutOrStdout().Write(data)
				return err
			}
			return os.WriteFile(output, data, 0o600)
		},
	}
	cmd.Flags().StringVar(&flow, "flow", "", "export only this flow (slug), with its stages, bindings and policies")
	cmd.Flags().BoolVar(&secrets, "secrets", false, "include client secrets and stage secrets (never private keys or passwords)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file (mode 0600) instead of standard output")
	cmd.Flags().StringVar(&name, "name", "", "the blueprint's metadata.name")
	return cmd
}

func newBlueprintModelsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "models",
		Short: "List the authentik models Gatehouse imports and exports",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, m := range blueprint.ModelNames() {
				fmt.Fprintln(cmd.OutOrStdout(), m)
			}
			return nil
		},
	}
}

// blueprintSealers seal certificate private keys and token keys.
type blueprintSealers struct{ key, token *crypto.Sealer }

// openBlueprintStore opens and migrates the configured database, as
// `gatehouse migrate` does, and makes the sealers of certificate private
// keys and token keys from the secret key (nil when there is none, on
// PostgreSQL without secret_key).
func openBlueprintStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (*sqlstore.Store, blueprintSealers, error) {
	var none blueprintSealers
	if _, err := lifecycle.Migrate(ctx, cfg, log); err != nil {
		return nil, none, err
	}
	var (
		st  *sqlstore.Store
		err error
	)
	secret := cfg.SecretKey.Reveal()
	if cfg.Embedded() {
		st, err = sqlstore.OpenSQLite(ctx, filepath.Join(cfg.DataDir, lifecycle.SQLiteFile), sqlstore.Options{})
		if err == nil && secret == "" {
			secret, _, err = crypto.LoadOrCreateSecretKey(filepath.Join(cfg.DataDir, lifecycle.SecretKeyFile))
		}
	} else {
		st, err = sqlstore.OpenPostgres(ctx, lifecycle.PostgresDSN(cfg.PostgreSQL), sqlstore.Options{MaxConns: 2})
	}
	if err != nil {
		if st != nil {
			_ = st.Close()
		}
		return nil, none, err
	}
	if secret == "" {
		return st, none, nil
	}
	var out blueprintSealers
	if out.key, err = crypto.NewSealer(secret, "certificate-private-key"); err == nil {
		out.token, err = crypto.NewSealer(secret, "token-key")
	}
	if err != nil {
		_ = st.Close()
		return nil, none, err
	}
	return st, out, nil
}
