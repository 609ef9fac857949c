package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newHealthcheckCmd(g *globals) *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the local server (or worker) is ready, 1 when not (for container health checks)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				cfg, _, err := g.load()
				if err != nil {
					return err
				}
				url = "http://" + localAddr(cfg.Listen.HTTP) + "/-/health/ready/"
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			client := &http.Client{Transport: &http.Transport{
				// The HTTPS listener's certificate may be self-signed; this
				// only asks our own process whether it is ready.
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
			}}
			resp, err := client.Do(req)
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "unhealthy:", err)
				return exitCode(1)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				fmt.Fprintln(cmd.ErrOrStderr(), "unhealthy: status", resp.StatusCode)
				return exitCode(1)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "healthy")
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "readiness URL to check (default: this config's listen.http)")
	return cmd
}

// localAddr turns a wildcard listen address into a loopback one.
func localAddr(addr string) string {
	switch {
	case strings.HasPrefix(addr, "0.0.0.0:"):
		return "127.0.0.1:" + strings.TrimPrefix(addr, "0.0.0.0:")
	case strings.HasPrefix(addr, "[::]:"):
		return "[::1]:" + strings.TrimPrefix(addr, "[::]:")
	case strings.HasPrefix(addr, ":"):
		return "127.0.0.1" + addr
	}
	return addr
}
