package blueprint

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// defaultsFS holds Gatehouse's default flows as blueprints, one file per
// flow, as authentik ships its own (blueprints/default). Every entry has
// state created: a flow, stage, binding or policy that exists (an
// administrator may have changed it) is left alone, a missing one is made.
//
//go:embed defaults/*.yaml
var defaultsFS embed.FS

// DefaultBlueprints returns the default blueprints by file name.
func DefaultBlueprints() (map[string][]byte, error) {
	names, err := fs.Glob(defaultsFS, "defaults/*.yaml")
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(names))
	for _, name := range names {
		if out[name], err = defaultsFS.ReadFile(name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ApplyDefaults applies the default blueprints (and the default
// notification rules, defaults_events.go), in file name order, and
// points the default brand's empty flow fields (authentication,
// invalidation, recovery, user settings) at the default flows it created.
// It returns the slugs of the flows it created; on a restart, none.
//
// It is core.EnsureDefaultFlows as blueprints, with one difference: an
// object of a default flow that an administrator deleted comes back at the
// next start, as with authentik's default blueprints, while
// EnsureDefaultFlows left a flow alone once it existed.
func ApplyDefaults(ctx context.Context, st store.Store) ([]string, error) {
	files, err := defaultFiles()
	if err != nil {
		return nil, err
	}
	var created []string
	for _, name := range sortedKeys(files) {
		bp, err := Parse(files[name])
		if err != nil {
			return created, fmt.Errorf("%s: %w", name, err)
		}
		res, err := Apply(ctx, st, bp, Options{})
		if err != nil {
			return created, fmt.Errorf("%s: %w", name, err)
		}
		for _, e := range res.Entries {
			if e.Model == "authentik_flows.flow" && e.Action == ActionCreated {
				if slug, ok := e.Identifiers["slug"].(string); ok {
					created = append(created, slug)
				}
			}
		}
	}
	if len(created) == 0 {
		return nil, nil
	}
	return created, st.InTx(ctx, func(tx store.Store) error {
		brands, err := tx.ListBrands(ctx)
		if err != nil {
			return err
		}
		for _, b := range brands {
			if !b.Default {
				continue
			}
			changed := false
			for _, bf := range []struct {
				field **uuid.UUID
				slug  string
			}{
				{&b.FlowAuthentication, core.DefaultAuthenticationFlow},
				{&b.FlowInvalidation, core.DefaultInvalidationFlow},
				{&b.FlowRecovery, core.DefaultRecoveryFlow},
				{&b.FlowUserSettings, core.DefaultUserSettingsFlow},
			} {
				if *bf.field != nil || !slices.Contains(created, bf.slug) {
					continue
				}
				f, err := tx.FlowBySlug(ctx, bf.slug)
				if errors.Is(err, store.ErrNotFound) {
					continue
				} else if err != nil {
					return err
				}
				*bf.field, changed = &f.UUID, true
			}
			if changed {
				return tx.UpdateBrand(ctx, b)
			}
		}
		return nil
	})
}

// DefaultsHashKey is the setting holding the hash of the default
// blueprints last applied (authentik's last_applied_hash).
const DefaultsHashKey = "blueprints.defaults_last_applied_hash"

// ApplyDefaultsIfChanged applies the default blueprints when they differ
// from the ones last applied to this database (a first start, or a new
// release), as authentik re-applies a blueprint whose hash changed. It
// reports whether it applied them. Starting an unchanged instance costs one
// settings read instead of applying 13 blueprints.
func ApplyDefaultsIfChanged(ctx context.Context, st store.Store) (created []string, applied bool, err error) {
	files, err := defaultFiles()
	if err != nil {
		return nil, false, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	sum, _ := json.Marshal(hex.EncodeToString(h.Sum(nil)))
	if last, err := st.Setting(ctx, DefaultsHashKey); err == nil && string(last) == string(sum) {
		return nil, false, nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, false, err
	}
	if created, err = ApplyDefaults(ctx, st); err != nil {
		return nil, false, err
	}
	return created, true, st.PutSetting(ctx, DefaultsHashKey, sum)
}
