package lifecycle

import (
	"context"
	"fmt"

	"github.com/gatehouse-idp/gatehouse/internal/blueprint"
	"github.com/gatehouse-idp/gatehouse/internal/cache"
	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

// bootstrap creates what a server needs before it serves: akadmin and
// its group, the default flows and notification rules (blueprints
// embedded in the binary, applied when they changed), and the default
// scope mappings. Each step finds what exists and leaves it alone; the
// caller holds the start lock, so two replicas never create the same
// object at once.
func (p *Process) bootstrap(ctx context.Context, st *sqlstore.Store) error {
	res, err := core.Bootstrap(ctx, st, core.BootstrapOptions{
		Password: p.Config.BootstrapPassword.Reveal(),
		Token:    p.Config.BootstrapToken.Reveal(),
		Email:    p.Config.BootstrapEmail,
	}, p.Log.With("component", "bootstrap"))
	if err != nil {
		return err
	}
	// The default flows ship as authentik-format blueprints embedded in
	// the binary (internal/blueprint/defaults), applied when they changed.
	if created, applied, err := blueprint.ApplyDefaultsIfChanged(ctx, st); err != nil {
		return fmt.Errorf("default flows: %w", err)
	} else if applied {
		_ = p.caches.Invalidate(ctx, cache.Config, "") // replicas still running the old version
		if len(created) > 0 {
			p.Log.Info("created default flows", "flows", created)
		}
	}
	if created, err := oauth2.EnsureScopeMappings(ctx, st); err != nil {
		return fmt.Errorf("default scope mappings: %w", err)
	} else if len(created) > 0 {
		p.Log.Info("created default scope mappings", "mappings", created)
	}
	if !res.AdminHasPassword {
		p.Log.Warn("akadmin has no password yet: finish the initial setup in a browser, or set bootstrap_password",
			"url", "http://"+displayAddr(p.httpAddr)+core.InitialSetupFlowPath)
	}
	return nil
}
