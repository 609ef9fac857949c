package main

import (
	"fmt"
	"os"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/cobra"

	"github.com/gatehouse-idp/gatehouse/internal/lifecycle"
)

func newServerCmd(g *globals) *cobra.Command {
	var printConfig bool
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the server (router, API, flows, protocols); in embedded mode also the worker",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load()
			if err != nil {
				return err
			}
			if printConfig {
				k := koanf.New(".")
				if err := k.Load(confmap.Provider(cfg.Redacted(), "."), nil); err != nil {
					return err
				}
				out, err := k.Marshal(yaml.Parser())
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(os.Stdout, string(out))
				return err
			}
			p := &lifecycle.Process{Config: cfg, Log: log, Mode: lifecycle.ModeServer, Version: buildVersion()}
			log.Info("starting gatehouse", "mode", "server", "version", p.Version, "embedded", cfg.Embedded(),
				"data_dir", cfg.DataDir)
			return p.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&printConfig, "print-config", false, "print the effective configuration (secrets redacted) and exit")
	return cmd
}

func newWorkerCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run the background worker (for deployments on PostgreSQL)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load()
			if err != nil {
				return err
			}
			p := &lifecycle.Process{Config: cfg, Log: log, Mode: lifecycle.ModeWorker, Version: buildVersion()}
			log.Info("starting gatehouse", "mode", "worker", "version", p.Version, "embedded", cfg.Embedded())
			return p.Run(cmd.Context())
		},
	}
}
