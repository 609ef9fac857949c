// Package a11ytest checks the rendered pages of /if/user/ and /if/admin/
// for the accessibility rules both interfaces keep (issue 8, "An
// accessibility pass: labels on every input, landmarks, contrast"): it
// parses a page with goquery and reports every violation of
//
//   - the document: a non-empty <title>, <html lang>, exactly one <main
//     id="main">, a skip link to #main as the first link, labelled <nav>
//     landmarks (WCAG 2.2 SC 2.4.1, 2.4.2, 3.1.1, 1.3.1);
//   - names: every visible <input>, <select> and <textarea> has an
//     accessible name (a <label for>, a wrapping <label>, aria-label or
//     aria-labelledby), every <button> and <a> has text or a label, every
//     <img> has alt, every <svg> is role="img" with a name (SC 1.1.1, 4.1.2,
//     2.4.4);
//   - structure: ids are unique, ARIA references point at ids that exist,
//     one <h1> and no heading level skipped, tables have <th> headers with
//     scope or in <thead> (SC 1.3.1);
//   - errors: a field marked aria-invalid names its error with
//     aria-describedby, and every error shown (.field-error, outside the
//     tables that list data) is linked to its field or announced
//     (role="alert"/"status"); a form answered 400 shows one (SC 3.3.1);
//
// and computes WCAG 2.2 contrast ratios of the colours two stylesheets
// give a selector in the light and the dark theme (contrast.go).
package a11ytest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
)

// Options relax or add to the rules for one page.
type Options struct {
	// NoNav: the page has no navigation landmark (a message page such as a
	// 404, which has only the header's links).
	NoNav bool
	// Invalid: the page is a form answered with its errors (a 400), which
	// must show at least one error.
	Invalid bool
}

// Parse parses an HTML page or fragment.
func Parse(t testing.TB, body string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc
}

// Swap is the document a browser shows after htmx swapped fragment, the
// answer to an htmx navigation, into full's #page (hx-target="#page",
// hx-swap="innerHTML") and took its <title> as the document's title.
func Swap(t testing.TB, full, fragment string) *goquery.Document {
	t.Helper()
	doc := Parse(t, full)
	frag := Parse(t, fragment)
	page := doc.Find("#page")
	if page.Length() != 1 {
		t.Fatalf("the full page has %d #page elements", page.Length())
	}
	if title := frag.Find("title"); title.Length() > 0 {
		doc.Find("head title").SetText(title.First().Text())
		title.Remove()
	}
	inner, err := frag.Find("body").Html()
	if err != nil {
		t.Fatal(err)
	}
	page.SetHtml(inner)
	return doc
}

// Check reports every violation of the rules in doc, one line each.
func Check(doc *goquery.Document, opt Options) []string {
	c := &checker{doc: doc, ids: map[string]int{}}
	doc.Find("[id]").Each(func(_ int, s *goquery.Selection) { c.ids[s.AttrOr("id", "")]++ })
	c.document(opt)
	c.references()
	c.controls()
	c.namedElements()
	c.headings()
	c.tables()
	c.errors(opt)
	return c.problems
}

type checker struct {
	doc      *goquery.Document
	ids      map[string]int
	problems []string
}

func (c *checker) add(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// describe names an element in a report: its tag with id, name or class.
func describe(s *goquery.Selection) string {
	tag := goquery.NodeName(s)
	for _, a := range []string{"id", "name", "class", "href", "type"} {
		if v, ok := s.Attr(a); ok {
			return fmt.Sprintf("<%s %s=%q>", tag, a, v)
		}
	}
	return "<" + tag + ">"
}

func (c *checker) document(opt Options) {
	if strings.TrimSpace(c.doc.Find("head title").Text()) == "" {
		c.add("no <title> or an empty one")
	}
	if strings.TrimSpace(c.doc.Find("html").AttrOr("lang", "")) == "" {
		c.add("<html> has no lang")
	}
	mains := c.doc.Find("main")
	if mains.Length() != 1 {
		c.add("%d <main> elements, want exactly 1", mains.Length())
	} else if mains.AttrOr("id", "") != "main" {
		c.add("<main> is not #main, the skip link's target")
	}
	links := c.doc.Find("body a[href]")
	if links.Length() == 0 || links.First().AttrOr("href", "") != "#main" {
		c.add("the first link is not a skip link to #main")
	}
	navs := c.doc.Find("nav")
	if navs.Length() == 0 && !opt.NoNav {
		c.add("no <nav> landmark")
	}
	labels := map[string]bool{}
	navs.Each(func(_ int, s *goquery.Selection) {
		name := c.ariaName(s)
		switch {
		case name == "":
			c.add("%s has no aria-label or aria-labelledby", describe(s))
		case labels[name]:
			c.add("two <nav> landmarks are labelled %q", name)
		}
		labels[name] = true
	})
}

// references: ids are unique, and aria-labelledby, aria-describedby and
// label for name ids that exist.
func (c *checker) references() {
	for id, n := range c.ids {
		if n > 1 {
			c.add("id %q is used %d times", id, n)
		}
		if strings.TrimSpace(id) == "" {
			c.add("an empty id")
		}
	}
	for _, attr := range []string{"aria-labelledby", "aria-describedby", "aria-controls"} {
		c.doc.Find("[" + attr + "]").Each(func(_ int, s *goquery.Selection) {
			for _, id := range strings.Fields(s.AttrOr(attr, "")) {
				if c.ids[id] == 0 {
					c.add("%s: %s names the missing id %q", describe(s), attr, id)
				}
			}
		})
	}
	c.doc.Find("label[for]").Each(func(_ int, s *goquery.Selection) {
		id := s.AttrOr("for", "")
		if c.doc.Find("#"+cssID(id)).Filter("input, select, textarea, button, output, meter, progress").Length() == 0 {
			c.add("<label for=%q> names no form control", id)
		}
	})
}

// cssID escapes an id for a CSS selector.
func cssID(id string) string {
	var b strings.Builder
	for i, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_', r == '-' && i > 0, r >= '0' && r <= '9' && i > 0, r > 0x7f:
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "\\%x ", r)
		}
	}
	return b.String()
}

// hidden reports whether s is not rendered: it or an ancestor has the
// hidden attribute.
func hidden(s *goquery.Selection) bool {
	return s.Is("[hidden]") || s.ParentsFiltered("[hidden]").Length() > 0
}

// ariaName is the name aria-labelledby or aria-label give s ("" none).
func (c *checker) ariaName(s *goquery.Selection) string {
	if ids := strings.Fields(s.AttrOr("aria-labelledby", "")); len(ids) > 0 {
		var parts []string
		for _, id := range ids {
			if c.ids[id] > 0 {
				parts = append(parts, textOf(c.doc.Find("#"+cssID(id)).First()))
			}
		}
		if name := strings.TrimSpace(strings.Join(parts, " ")); name != "" {
			return name
		}
	}
	return strings.TrimSpace(s.AttrOr("aria-label", ""))
}

// textOf is the text s contributes to a name: its text without that of
// aria-hidden parts, and the alt of its images.
func textOf(s *goquery.Selection) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			b.WriteString(n.Data)
			return
		case html.ElementNode:
			for _, a := range n.Attr {
				if a.Key == "aria-hidden" && a.Val == "true" {
					return
				}
				if n.Data == "img" && a.Key == "alt" {
					b.WriteString(" " + a.Val + " ")
				}
			}
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	for _, n := range s.Nodes {
		walk(n)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// controls: every visible form control has an accessible name.
func (c *checker) controls() {
	c.doc.Find("input, select, textarea").Each(func(_ int, s *goquery.Selection) {
		switch strings.ToLower(s.AttrOr("type", "")) {
		case "hidden", "submit", "button", "reset", "image":
			return
		}
		if hidden(s) {
			return
		}
		if c.ariaName(s) != "" {
			return
		}
		if id := s.AttrOr("id", ""); id != "" {
			if l := c.doc.Find(`label[for="` + strings.ReplaceAll(id, `"`, `\"`) + `"]`); l.Length() > 0 && textOf(l) != "" {
				return
			}
		}
		if l := s.ParentsFiltered("label"); l.Length() > 0 && textOf(l.First()) != "" {
			return
		}
		c.add("%s has no label", describe(s))
	})
}

// namedElements: links and buttons have a name, images alt, SVG images a
// role and a name.
func (c *checker) namedElements() {
	c.doc.Find("a, button").Each(func(_ int, s *goquery.Selection) {
		if hidden(s) {
			return
		}
		if c.ariaName(s) == "" && textOf(s) == "" {
			c.add("%s has no text or label", describe(s))
		}
	})
	c.doc.Find("img").Each(func(_ int, s *goquery.Selection) {
		if _, ok := s.Attr("alt"); !ok {
			c.add("%s has no alt", describe(s))
		}
	})
	c.doc.Find("svg").Each(func(_ int, s *goquery.Selection) {
		if s.AttrOr("aria-hidden", "") == "true" {
			return
		}
		if s.AttrOr("role", "") != "img" {
			c.add("%s is not role=\"img\"", describe(s))
		}
		if c.ariaName(s) == "" && strings.TrimSpace(s.ChildrenFiltered("title").Text()) == "" {
			c.add("%s has no name (aria-label, aria-labelledby or <title>)", describe(s))
		}
	})
}

// headings: exactly one h1, and each heading at most one level below the
// one before it.
func (c *checker) headings() {
	h1 := 0
	last := 0
	c.doc.Find("h1, h2, h3, h4, h5, h6").Each(func(_ int, s *goquery.Selection) {
		level := int(goquery.NodeName(s)[1] - '0')
		if level == 1 {
			h1++
		}
		if level > last+1 {
			c.add("<h%d> %q follows <h%d>: a level is skipped", level, textOf(s), last)
		}
		if textOf(s) == "" {
			c.add("an empty <h%d>", level)
		}
		last = level
	})
	if h1 != 1 {
		c.add("%d <h1> elements, want exactly 1", h1)
	}
}

// tables: every table has header cells, each with scope or in <thead>.
func (c *checker) tables() {
	c.doc.Find("table").Each(func(_ int, t *goquery.Selection) {
		th := t.Find("th")
		if th.Length() == 0 {
			c.add("%s has no <th> header", describe(t))
		}
		th.Each(func(_ int, s *goquery.Selection) {
			if _, ok := s.Attr("scope"); !ok && s.ParentsFiltered("thead").Length() == 0 {
				c.add("%s: <th> %q has no scope and is not in <thead>", describe(t), textOf(s))
			}
		})
	})
}

// errors: a control marked invalid describes itself with an element that
// holds its error; every error belongs to a control's description or to an
// alert; a page answered 400 shows an error.
func (c *checker) errors(opt Options) {
	described := map[*html.Node]bool{}
	c.doc.Find("[aria-describedby]").Each(func(_ int, s *goquery.Selection) {
		for _, id := range strings.Fields(s.AttrOr("aria-describedby", "")) {
			for _, n := range c.doc.Find("#" + cssID(id)).Nodes {
				described[n] = true
			}
		}
	})
	c.doc.Find(`[aria-invalid="true"]`).Each(func(_ int, s *goquery.Selection) {
		holds := false
		for _, id := range strings.Fields(s.AttrOr("aria-describedby", "")) {
			d := c.doc.Find("#" + cssID(id))
			if d.Is(".field-error") || d.Find(".field-error").Length() > 0 {
				holds = true
			}
		}
		if !holds {
			c.add("%s is aria-invalid but aria-describedby names no error", describe(s))
		}
	})
	errs := c.doc.Find(".field-error")
	errs.Each(func(_ int, s *goquery.Selection) {
		if s.ParentsFiltered("table").Length() > 0 {
			return // data shown in a table (a task's error), not a form's
		}
		for n := s.Nodes[0]; n != nil; n = n.Parent {
			if described[n] {
				return
			}
			for _, a := range n.Attr {
				if a.Key == "role" && (a.Val == "alert" || a.Val == "status") {
					return
				}
			}
		}
		c.add("the error %q is neither linked to its field (aria-describedby) nor an alert", textOf(s))
	})
	if opt.Invalid && errs.Length() == 0 {
		c.add("a form answered with its errors shows none (.field-error)")
	}
}
