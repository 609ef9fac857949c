package a11ytest

import (
	"math"
	"strings"
	"testing"
)

// A page that keeps every rule, and one change to it per rule: the check
// passes the first and reports each change.
func TestCheck(t *testing.T) {
	const good = `<!doctype html><html lang="en"><head><title>Users · Admin</title></head><body>
<a class="skip" href="#main">Skip to content</a>
<nav aria-label="Administration"><a href="/users/">Users</a></nav>
<main id="main"><h1>Users</h1>
<form method="post"><div class="field"><label for="name">Name</label>
<input type="text" id="name" name="name" aria-invalid="true" aria-describedby="name-err"><div id="name-err"><p class="field-error">Required.</p></div></div>
<label><input type="checkbox" name="active"> Active</label>
<input type="text" name="username" hidden><input type="hidden" name="csrf">
<div role="alert"><p class="field-error">The form has errors.</p></div>
<button type="submit"><img src="/s.png" alt="Save"></button></form>
<h2>Members</h2><h3>Active</h3><h2>Log</h2>
<table><thead><tr><th>Name</th></tr></thead><tbody><tr><th scope="row">a</th></tr></tbody></table>
<svg role="img" aria-labelledby="chart-desc"><desc id="chart-desc">Logins</desc></svg>
<a href="/x" aria-label="Delete x"><span aria-hidden="true">×</span></a>
</main></body></html>`
	if p := Check(Parse(t, good), Options{Invalid: true}); len(p) != 0 {
		t.Fatalf("the good page: %q", p)
	}
	for _, c := range []struct{ from, to, want string }{
		{"<title>Users · Admin</title>", "<title> </title>", "no <title>"},
		{`lang="en"`, "", "no lang"},
		{`<main id="main">`, `<main id="content">`, "not #main"},
		{`</main>`, `</main><main id="m2"></main>`, "2 <main>"},
		{`<a class="skip" href="#main">Skip to content</a>`, "", "skip link"},
		{`<nav aria-label="Administration">`, `<nav>`, "no aria-label"},
		{`<nav aria-label="Administration"><a href="/users/">Users</a></nav>`, "", "no <nav>"},
		{`<label for="name">Name</label>`, "", `<input id="name"> has no label`},
		{`> Active</label>`, `></label>`, `name="active"> has no label`},
		{`id="name-err"`, `id="name"`, `used 2 times`},
		{`aria-describedby="name-err"`, `aria-describedby="nope"`, `missing id "nope"`},
		{`aria-describedby="name-err"`, ``, "aria-invalid but"},
		{`<div role="alert">`, `<div>`, `"The form has errors." is neither`},
		{`alt="Save"`, ``, "has no alt"},
		{`alt="Save"`, `alt=""`, "<button type=\"submit\"> has no text"},
		{`aria-label="Delete x"`, ``, `href="/x"> has no text`},
		{`<h2>Members</h2>`, ``, "<h3> \"Active\" follows <h1>"},
		{`<h2>Log</h2>`, `<h1>Log</h1>`, "2 <h1>"},
		{`<th scope="row">`, `<th>`, `"a" has no scope`},
		{`<thead><tr><th>Name</th></tr></thead><tbody><tr><th scope="row">a</th>`, `<tbody><tr><td>a</td>`, "has no <th> header"},
		{`<svg role="img"`, `<svg`, `not role="img"`},
		{`aria-labelledby="chart-desc"`, ``, "<svg> has no name"},
	} {
		page := strings.Replace(good, c.from, c.to, 1)
		if page == good {
			t.Fatalf("%q is not in the page", c.from)
		}
		p := strings.Join(Check(Parse(t, page), Options{Invalid: true}), "\n")
		if !strings.Contains(p, c.want) {
			t.Errorf("%q -> %q: reports %q, want %q", c.from, c.to, p, c.want)
		}
	}
	if p := Check(Parse(t, strings.Replace(good, `<p class="field-error">Required.</p>`, "", 1)), Options{Invalid: true}); len(p) == 0 {
		t.Error("an aria-invalid field whose description holds no error passes")
	}
	noErrors := strings.NewReplacer(`<p class="field-error">Required.</p>`, "", `<div role="alert"><p class="field-error">The form has errors.</p></div>`, "",
		` aria-invalid="true" aria-describedby="name-err"`, "").Replace(good)
	if p := Check(Parse(t, noErrors), Options{Invalid: true}); len(p) != 1 || !strings.Contains(p[0], "shows none") {
		t.Errorf("a 400 page without errors: %q", p)
	}
}

// An htmx swap replaces the inside of #page and the title.
func TestSwap(t *testing.T) {
	full := `<!doctype html><html lang="en"><head><title>A</title></head><body><a href="#main">Skip</a><div id="page"><main id="main"><h1>A</h1></main></div></body></html>`
	doc := Swap(t, full, `<title>B</title><nav aria-label="Main"><a href="/">Home</a></nav><main id="main"><h1>B</h1></main>`)
	if got := doc.Find("title").Text(); got != "B" {
		t.Errorf("title %q", got)
	}
	if doc.Find("#page nav").Length() != 1 || doc.Find("#page h1").Text() != "B" || doc.Find("#page title").Length() != 0 {
		t.Errorf("after the swap: %v", doc.Find("#page").Nodes)
	}
	if p := Check(doc, Options{}); len(p) != 0 {
		t.Errorf("%q", p)
	}
}

// Known ratios: black on white is 21:1, a colour on itself 1:1, and the
// greys WCAG's understanding documents cite.
func TestContrast(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want float64
	}{
		{"#000", "#fff", 21}, {"#777", "#777", 1}, {"#767676", "#ffffff", 4.54}, {"#959595", "#fff", 2.99},
		{"rgb(0, 0, 0)", "white", 21}, {"#1d4ed8", "#ffffff", 6.70},
	} {
		a, err := ParseColor(c.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseColor(c.b)
		if err != nil {
			t.Fatal(err)
		}
		if got := Contrast(a, b); math.Abs(got-c.want) > 0.01 {
			t.Errorf("%s on %s: %.3f, want %.2f", c.a, c.b, got, c.want)
		}
	}
	half, _ := ParseColor("rgba(0, 0, 0, .5)")
	white, _ := ParseColor("#fff")
	if got := half.Over(white); math.Abs(got.R-127.5) > 0.01 || got.A != 1 {
		t.Errorf("half black over white: %v", got)
	}
}

// The sheet resolves a selector's colour per theme through var(), later
// rules and stylesheets winning, shorthands included.
func TestSheet(t *testing.T) {
	s, err := ParseCSS(`/* tokens */ :root { --fg: #111; --bg: #fff; --line: #ccc }
@media (prefers-color-scheme: dark) { :root { --fg: #eee; --bg: #000 } }
body { color: var(--fg); background: var(--bg); }
input[type=text], select { border: 1px solid var(--line); }
.note { color: var(--missing, #333) }
.grad { background: linear-gradient(90deg, var(--fg), transparent) }
@media (max-width: 10rem) { body { color: red } }`, `body { color: var(--fg) !important; } .x:has(a, b) { outline: 2px solid var(--fg) }`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		theme Theme
		ref   Ref
		want  string
	}{
		{Light, Fore("body"), "#111111"}, {Dark, Fore("body"), "#eeeeee"}, {Dark, Back("body"), "#000000"},
		{Light, Border("select"), "#cccccc"}, {Dark, Border("input[type=text]"), "#cccccc"}, {Light, Fore(".note"), "#333333"},
		{Dark, Outline(".x:has(a, b)"), "#eeeeee"},
	} {
		got, err := s.Color(c.theme, c.ref)
		if err != nil || got.String() != c.want {
			t.Errorf("%s %s: %v %v, want %s", c.theme, c.ref, got, err, c.want)
		}
	}
	for _, ref := range []Ref{Back(".grad"), Fore(".nothing"), Back(".note")} {
		if c, err := s.Color(Light, ref); err == nil {
			t.Errorf("%s: %v, want an error", ref, c)
		}
	}
	if _, err := ParseCSS(`a { color: red`); err == nil {
		t.Error("an unclosed block parses")
	}
}

// A transition counts as reduced only with a reduced-motion rule for its
// selector.
func TestUnreducedMotion(t *testing.T) {
	s, err := ParseCSS(`.a { transition: color .1s } .b, .c { transition: transform .2s } .d { transition: none }
@media (prefers-reduced-motion: reduce) { .a, .b { transition: none } }`)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.UnreducedMotion(); len(got) != 1 || !strings.HasPrefix(got[0], ".c ") {
		t.Errorf("unreduced: %q, want .c only", got)
	}
}
