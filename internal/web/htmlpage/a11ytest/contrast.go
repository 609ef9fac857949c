package a11ytest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

// Theme is a colour scheme of the stylesheets.
type Theme string

// The two themes: the rules outside any @media, and those plus the ones
// in @media (prefers-color-scheme: dark).
const (
	Light Theme = "light"
	Dark  Theme = "dark"
)

// Sheet is the rules of one or more stylesheets in cascade order: enough
// of CSS to find the colour a selector's rule sets.
type Sheet struct {
	rules []rule
}

type rule struct {
	media     string   // the @media condition ("" none)
	selectors []string // normalized
	decls     map[string]string
}

// ParseCSS parses stylesheets, later ones after earlier ones. It knows
// comments, style rules and @media blocks; other at-rules are skipped.
func ParseCSS(sources ...string) (*Sheet, error) {
	s := &Sheet{}
	for i, src := range sources {
		if err := s.parse(stripComments(src), ""); err != nil {
			return nil, fmt.Errorf("stylesheet %d: %w", i+1, err)
		}
	}
	return s, nil
}

func stripComments(src string) string {
	var b strings.Builder
	for {
		i := strings.Index(src, "/*")
		if i < 0 {
			b.WriteString(src)
			return b.String()
		}
		b.WriteString(src[:i])
		j := strings.Index(src[i+2:], "*/")
		if j < 0 {
			return b.String()
		}
		src = src[i+2+j+2:]
	}
}

// block splits src at its first top-level "{": the prelude, the block's
// inside and what follows it.
func block(src string) (prelude, inside, rest string, err error) {
	open := strings.IndexByte(src, '{')
	if open < 0 {
		if strings.TrimSpace(src) != "" {
			return "", "", "", fmt.Errorf("text after the last rule: %.40q", src)
		}
		return "", "", "", nil
	}
	depth := 0
	for i := open; i < len(src); i++ {
		switch src[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return strings.TrimSpace(src[:open]), src[open+1 : i], src[i+1:], nil
			}
		}
	}
	return "", "", "", fmt.Errorf("unclosed block after %.40q", src[:open])
}

func (s *Sheet) parse(src, media string) error {
	for strings.TrimSpace(src) != "" {
		prelude, inside, rest, err := block(src)
		if err != nil {
			return err
		}
		src = rest
		switch {
		case prelude == "" && inside == "":
			return nil
		case strings.HasPrefix(prelude, "@media"):
			if err := s.parse(inside, strings.TrimSpace(strings.TrimPrefix(prelude, "@media"))); err != nil {
				return err
			}
		case strings.HasPrefix(prelude, "@"):
			continue
		default:
			r := rule{media: media, decls: map[string]string{}}
			for _, sel := range splitTop(prelude, ',') {
				r.selectors = append(r.selectors, normalize(sel))
			}
			for _, d := range splitTop(inside, ';') {
				name, value, ok := strings.Cut(d, ":")
				if !ok {
					continue
				}
				value = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(value), "!important"))
				r.decls[strings.ToLower(strings.TrimSpace(name))] = value
			}
			s.rules = append(s.rules, r)
		}
	}
	return nil
}

// splitTop splits s at sep outside parentheses and brackets.
func splitTop(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[':
			depth++
		case ')', ']':
			depth--
		case sep:
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	out = append(out, s[start:])
	var kept []string
	for _, p := range out {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	return kept
}

func normalize(sel string) string { return strings.Join(strings.Fields(sel), " ") }

// applies reports whether a rule under media takes part in theme.
func applies(media string, theme Theme) bool {
	if media == "" {
		return true
	}
	return theme == Dark && strings.ReplaceAll(media, " ", "") == "(prefers-color-scheme:dark)"
}

// Ref names where a colour comes from: the property of the rule for a
// selector. Property is a colour property (color, background-color, fill,
// stroke, border-color, outline-color); the shorthands background, border
// and outline are read for it too.
type Ref struct {
	Selector, Property string
}

// Fore is the text colour of selector.
func Fore(selector string) Ref { return Ref{selector, "color"} }

// Back is the background colour of selector.
func Back(selector string) Ref { return Ref{selector, "background-color"} }

// Fill is the SVG fill of selector.
func Fill(selector string) Ref { return Ref{selector, "fill"} }

// Stroke is the SVG stroke of selector.
func Stroke(selector string) Ref { return Ref{selector, "stroke"} }

// Border is the border colour of selector.
func Border(selector string) Ref { return Ref{selector, "border-color"} }

// Outline is the outline colour of selector (the focus ring).
func Outline(selector string) Ref { return Ref{selector, "outline-color"} }

func (r Ref) String() string { return r.Selector + " {" + r.Property + "}" }

// shorthands are the shorthand properties a colour property is also read
// from, in cascade-equal standing: the later declaration wins.
var shorthands = map[string]string{"background-color": "background", "border-color": "border", "outline-color": "outline"}

// Color is the colour ref has in theme, its var() references resolved.
func (s *Sheet) Color(theme Theme, ref Ref) (RGBA, error) {
	value, ok := s.lastOf(theme, ref.Selector, ref.Property, shorthands[ref.Property])
	if !ok {
		return RGBA{}, fmt.Errorf("%s: no rule sets it", ref)
	}
	c, err := s.parseColorValue(theme, value, 0)
	if err != nil {
		return RGBA{}, fmt.Errorf("%s: %w", ref, err)
	}
	return c, nil
}

// lastOf is the value of the last declaration, in cascade order, of any
// of the properties on selector.
func (s *Sheet) lastOf(theme Theme, selector string, properties ...string) (string, bool) {
	selector = normalize(selector)
	value, found := "", false
	for _, r := range s.rules {
		if !applies(r.media, theme) || !contains(r.selectors, selector) {
			continue
		}
		for _, p := range properties {
			if v, ok := r.decls[p]; ok && p != "" {
				value, found = v, true
			}
		}
	}
	return value, found
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseColorValue finds the colour in a value: a colour, var(), or a
// shorthand (1px solid var(--line)) with one colour in it.
func (s *Sheet) parseColorValue(theme Theme, value string, depth int) (RGBA, error) {
	if depth > 10 {
		return RGBA{}, fmt.Errorf("var() nested too deep in %q", value)
	}
	var found []RGBA
	for _, tok := range splitTop(value, ' ') {
		switch {
		case strings.HasPrefix(tok, "var("):
			inner := strings.TrimSuffix(strings.TrimPrefix(tok, "var("), ")")
			name, fallback, _ := strings.Cut(inner, ",")
			v, ok := s.lastOf(theme, ":root", strings.TrimSpace(name))
			if !ok {
				v = strings.TrimSpace(fallback)
			}
			if v == "" {
				return RGBA{}, fmt.Errorf("%s is not defined in the %s theme", strings.TrimSpace(name), theme)
			}
			c, err := s.parseColorValue(theme, v, depth+1)
			if err != nil {
				return RGBA{}, err
			}
			found = append(found, c)
		case strings.Contains(tok, "gradient("):
			return RGBA{}, fmt.Errorf("%q is a gradient, not one colour", tok)
		default:
			if c, err := ParseColor(tok); err == nil {
				found = append(found, c)
			}
		}
	}
	if len(found) != 1 {
		return RGBA{}, fmt.Errorf("%d colours in %q, want 1", len(found), value)
	}
	return found[0], nil
}

// RGBA is an sRGB colour, channels 0-255, alpha 0-1.
type RGBA struct {
	R, G, B float64
	A       float64
}

func (c RGBA) String() string {
	if c.A < 1 {
		return fmt.Sprintf("rgba(%g, %g, %g, %g)", c.R, c.G, c.B, c.A)
	}
	return fmt.Sprintf("#%02x%02x%02x", int(c.R), int(c.G), int(c.B))
}

var named = map[string]RGBA{"white": {255, 255, 255, 1}, "black": {0, 0, 0, 1}, "transparent": {0, 0, 0, 0}}

// ParseColor parses #rgb, #rrggbb, #rrggbbaa, rgb(), rgba() and the names
// white, black and transparent.
func ParseColor(s string) (RGBA, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if c, ok := named[s]; ok {
		return c, nil
	}
	if hex, ok := strings.CutPrefix(s, "#"); ok {
		if len(hex) == 3 || len(hex) == 4 {
			var b strings.Builder
			for _, r := range hex {
				b.WriteRune(r)
				b.WriteRune(r)
			}
			hex = b.String()
		}
		if len(hex) != 6 && len(hex) != 8 {
			return RGBA{}, fmt.Errorf("bad colour %q", s)
		}
		v, err := strconv.ParseUint(hex, 16, 32)
		if err != nil {
			return RGBA{}, fmt.Errorf("bad colour %q", s)
		}
		a := 1.0
		if len(hex) == 8 {
			a = float64(v&0xff) / 255
			v >>= 8
		}
		return RGBA{float64(v >> 16 & 0xff), float64(v >> 8 & 0xff), float64(v & 0xff), a}, nil
	}
	for _, fn := range []string{"rgba(", "rgb("} {
		if args, ok := strings.CutPrefix(s, fn); ok {
			parts := strings.FieldsFunc(strings.TrimSuffix(args, ")"), func(r rune) bool { return r == ',' || r == ' ' || r == '/' })
			if len(parts) != 3 && len(parts) != 4 {
				return RGBA{}, fmt.Errorf("bad colour %q", s)
			}
			c := RGBA{A: 1}
			for i, p := range parts {
				v, err := strconv.ParseFloat(strings.TrimSuffix(p, "%"), 64)
				if err != nil {
					return RGBA{}, fmt.Errorf("bad colour %q", s)
				}
				if strings.HasSuffix(p, "%") {
					v /= 100
					if i < 3 {
						v *= 255
					}
				}
				switch i {
				case 0:
					c.R = v
				case 1:
					c.G = v
				case 2:
					c.B = v
				case 3:
					c.A = v
				}
			}
			return c, nil
		}
	}
	return RGBA{}, fmt.Errorf("not a colour: %q", s)
}

// Over is c composited over the opaque colour bg.
func (c RGBA) Over(bg RGBA) RGBA {
	return RGBA{c.R*c.A + bg.R*(1-c.A), c.G*c.A + bg.G*(1-c.A), c.B*c.A + bg.B*(1-c.A), 1}
}

// Luminance is the relative luminance of an opaque colour (WCAG 2.2,
// "relative luminance"; the sRGB threshold 0.04045 of IEC 61966-2-1).
func (c RGBA) Luminance() float64 {
	ch := func(v float64) float64 {
		v /= 255
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(c.R) + 0.7152*ch(c.G) + 0.0722*ch(c.B)
}

// Contrast is the contrast ratio of two opaque colours (WCAG 2.2,
// "contrast ratio": (L1 + 0.05) / (L2 + 0.05), L1 the lighter), 1 to 21.
func Contrast(a, b RGBA) float64 {
	la, lb := a.Luminance(), b.Luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// Minimum contrast ratios of WCAG 2.2 level AA.
const (
	NormalText = 4.5 // SC 1.4.3, text below 18pt (24px) or 14pt (18.66px) bold
	LargeText  = 3.0 // SC 1.4.3, large text
	NonText    = 3.0 // SC 1.4.11, UI component boundaries, focus rings, graphics
)

// Pair is a foreground on a background the pages use, and the ratio it
// needs.
type Pair struct {
	Name   string
	Fg, Bg Ref
	Min    float64
}

// Ratio is the contrast of the pair in theme: the foreground composited
// over the background, which must be opaque.
func (s *Sheet) Ratio(theme Theme, p Pair) (float64, RGBA, RGBA, error) {
	fg, err := s.Color(theme, p.Fg)
	if err != nil {
		return 0, RGBA{}, RGBA{}, err
	}
	bg, err := s.Color(theme, p.Bg)
	if err != nil {
		return 0, RGBA{}, RGBA{}, err
	}
	if bg.A < 1 {
		return 0, fg, bg, fmt.Errorf("%s: the background %s is not opaque; name the one behind it", p.Bg, bg)
	}
	fg = fg.Over(bg)
	return Contrast(fg, bg), fg, bg, nil
}

// CheckContrast checks every pair in both themes, one subtest each, and
// logs the ratios measured.
func CheckContrast(t *testing.T, s *Sheet, pairs []Pair) {
	t.Helper()
	for _, theme := range []Theme{Light, Dark} {
		for _, p := range pairs {
			t.Run(string(theme)+"/"+p.Name, func(t *testing.T) {
				r, fg, bg, err := s.Ratio(theme, p)
				if err != nil {
					t.Fatal(err)
				}
				if r < p.Min {
					t.Errorf("%s on %s: %s on %s is %.2f:1, want at least %.1f:1", p.Fg, p.Bg, fg, bg, r, p.Min)
				} else {
					t.Logf("%s on %s: %.2f:1 (at least %.1f:1)", fg, bg, r, p.Min)
				}
			})
		}
	}
}

// UnreducedMotion lists the selectors whose rules animate (a transition
// or an animation) without an @media (prefers-reduced-motion: reduce)
// rule for the same selector that turns it off (WCAG 2.2 SC 2.3.3).
func (s *Sheet) UnreducedMotion() []string {
	reduced := func(media string) bool {
		return strings.Contains(strings.ReplaceAll(media, " ", ""), "prefers-reduced-motion:reduce")
	}
	off := map[string]bool{}
	for _, r := range s.rules {
		if !reduced(r.media) {
			continue
		}
		for _, p := range []string{"transition", "animation"} {
			if v, ok := r.decls[p]; ok && strings.HasPrefix(v, "none") {
				for _, sel := range r.selectors {
					off[sel+"|"+p] = true
				}
			}
		}
	}
	var out []string
	for _, r := range s.rules {
		if reduced(r.media) {
			continue
		}
		for _, p := range []string{"transition", "animation"} {
			if v, ok := r.decls[p]; ok && !strings.HasPrefix(v, "none") {
				for _, sel := range r.selectors {
					if !off[sel+"|"+p] {
						out = append(out, sel+" {"+p+": "+v+"}")
					}
				}
			}
		}
	}
	return out
}
