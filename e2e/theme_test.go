package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The admin and user interfaces in Chromium's light and dark colour
// schemes (prefers-color-scheme emulated): each page takes the theme's
// colours (a dark page background for dark, field borders of the theme),
// and keyboard focus shows a visible ring (the skip link, the first Tab
// stop). Screenshots of each page in both themes go to
// $GATEHOUSE_SCREENSHOTS.
func TestAdminDarkTheme(t *testing.T) {
	base, _ := browserServer(t, nil)
	ctx := browserWith(t, 1000, 120*time.Second)
	if err := chromedp.Do(ctx, signIn(base+"/if/admin/", "akadmin", bootstrapPassword, chromedp.ID("login-chart"))); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	// The page's background luminance (WCAG relative luminance), the
	// border colour of its first field and the colour --field-line is, and
	// the focused element with its outline.
	const probe = `(() => {
  const lum = c => { const [r, g, b] = c.match(/\d+(\.\d+)?/g).slice(0, 3).map(v => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const field = document.querySelector("main input[type=text], main input[type=search], main select");
  const d = document.createElement("div"); d.style.color = "var(--field-line)"; document.body.append(d);
  const line = getComputedStyle(d).color; d.remove();
  const f = document.activeElement, fs = getComputedStyle(f);
  return { bg: lum(getComputedStyle(document.body).backgroundColor), field: field ? getComputedStyle(field).borderTopColor : line,
    line: line, focus: f.className + " " + fs.outlineStyle + " " + fs.outlineWidth };
})()`
	type probed struct {
		BG                 float64
		Field, Line, Focus string
	}
	for _, p := range []struct{ name, path, wait string }{
		{"dashboard", "/if/admin/", "login-chart"},
		{"users", "/if/admin/users/", "users"},
		{"flow", "/if/admin/flows/default-authentication-flow/", "flow-diagram"},
		{"app-wizard", "/if/admin/applications/new/", "app-wizard"},
		{"user-tokens", "/if/user/settings/tokens/", "new-token"},
	} {
		// The first Tab stop of a page just loaded is the skip link.
		if err := chromedp.Do(ctx, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.ID(p.wait)), chromedp.KeyEvent("\t")); err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
		bg := map[string]float64{}
		for _, theme := range []string{"light", "dark"} {
			if err := colorScheme(ctx, theme); err != nil {
				t.Fatalf("emulating %s: %v", theme, err)
			}
			screenshot(t, ctx, "theme-"+p.name+"-"+theme) // the skip link shows, focused
			got, err := chromedp.Run(ctx, chromedp.Evaluate[probed](probe))
			if err != nil {
				t.Fatalf("%s %s: %v", p.path, theme, err)
			}
			bg[theme] = got.BG
			if got.Line == "" || got.Field != got.Line {
				t.Errorf("%s %s: the field border is %q, want --field-line %q", p.path, theme, got.Field, got.Line)
			}
			if got.Focus != "skip solid 3px" {
				t.Errorf("%s %s: focus after Tab is %q, want the skip link with a 3px ring", p.path, theme, got.Focus)
			}
		}
		if bg["dark"] > 0.05 || bg["light"] < 0.8 {
			t.Errorf("%s: page background luminance light %.3f, dark %.3f", p.path, bg["light"], bg["dark"])
		}
		if err := colorScheme(ctx, "light"); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/if/admin/users/new/"), chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "akadmin"), chromedp.Click(chromedp.ID("save-user")),
		chromedp.WaitVisible(chromedp.CSS(`#username-err .field-error`))); err != nil {
		t.Fatalf("duplicate user: %v", err)
	}
	if d, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("username").getAttribute("aria-describedby")`)); !strings.Contains(d, "username-err") {
		t.Errorf("the refused field is described by %q", d)
	}
	shootThemes(t, ctx, "theme-user-form-error")
}
