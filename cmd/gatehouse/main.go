// Command gatehouse is the Gatehouse identity provider: one binary for the
// server, the worker and the maintenance commands. It only wires packages
// together; the behaviour lives under internal/.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gatehouse-idp/gatehouse/internal/config"
	"github.com/gatehouse-idp/gatehouse/internal/password"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := root.ExecuteContext(ctx); err != nil {
		if code, ok := err.(exitCode); ok {
			return int(code)
		}
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		return 1
	}
	return 0
}

// exitCode ends the process with a status and no further message.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

type globals struct {
	configFile string
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "Gatehouse identity provider",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.configFile, "config", "",
		"YAML configuration file (default $"+config.EnvConfigFile+")")
	root.AddCommand(newServerCmd(g), newWorkerCmd(g), newMigrateCmd(g), newHealthcheckCmd(g), newVersionCmd())
	root.AddCommand(newBlueprintCmd(g), newEmailCmd(g))
	return root
}

// load reads the configuration and makes the logger it asks for.
func (g *globals) load() (*config.Config, *slog.Logger, error) {
	// Warnings about ignored keys go to a JSON logger at info level until the
	// configured level is known.
	boot := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := config.Load(config.Options{File: g.configFile, Logger: boot})
	if err != nil {
		return nil, nil, err
	}
	log := newLogger(cfg.LogLevel)
	if password.BenchHash {
		log.Warn("BENCHMARK BUILD (-tags benchhash): new password hashes are a cheap argon2id (64 KiB, 1 pass); never serve real users with it",
			"argon2id_memory_kib", password.DefaultParams.MemoryKiB, "argon2id_time", password.DefaultParams.Time)
	}
	return cfg, log, nil
}

func newLogger(level string) *slog.Logger {
	lv := map[string]slog.Level{
		"trace": slog.LevelDebug - 4, "debug": slog.LevelDebug, "info": slog.LevelInfo,
		"warning": slog.LevelWarn, "error": slog.LevelError,
	}[level]
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
}

func buildVersion() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	return v
}
