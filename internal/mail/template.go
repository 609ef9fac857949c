package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
)

// Built-in template names (authentik's).
const (
	TemplatePasswordReset       = "email/password_reset.html"
	TemplateAccountConfirmation = "email/account_confirmation.html"
	TemplateEmailOTP            = "email/email_otp.html"
	TemplateEventNotification   = "email/event_notification.html"
	TemplateSetup               = "email/setup.html"
)

// builtinFS holds the built-in templates under templates/: email/<name>.html
// and its text part email/<name>.txt, the shared layout.html and the text
// part of custom templates without their own, generic.txt.
//
//go:embed templates
var builtinFS embed.FS

var builtinNames = map[string]bool{TemplatePasswordReset: true, TemplateAccountConfirmation: true,
	TemplateEmailOTP: true, TemplateEventNotification: true, TemplateSetup: true}

// Builtin reports whether name is one of the built-in templates.
func Builtin(name string) bool { return builtinNames[name] }

// ErrTemplateNotFound is a template name that is neither built in nor a
// file under the template directory.
var ErrTemplateNotFound = errors.New("no such template: neither built in nor a file in the template directory")

// TemplateError is a template that cannot be used: a bad name, a file that
// cannot be read, a syntax error, or a failure while executing it. Its text
// names the template and is meant for the administrator (log, event).
type TemplateError struct {
	Name string
	Err  error
}

func (e *TemplateError) Error() string { return fmt.Sprintf("email template %q: %v", e.Name, e.Err) }
func (e *TemplateError) Unwrap() error { return e.Err }

// Limits on what a template may read and produce.
const (
	maxTemplateBytes = 256 << 10
	maxOutputBytes   = 1 << 20
	maxNameBytes     = 255
)

// ValidTemplateName checks a template name without touching the disk: a
// relative, slash-separated path below the template directory ("email/x.html",
// "custom/welcome.html"), no "." or ".." elements, ending in ".html". Stage
// constructors call it, so a bad name is refused when the stage is saved.
func ValidTemplateName(name string) error {
	switch {
	case name == "" || len(name) > maxNameBytes:
		return errors.New("a template name must be 1 to 255 characters")
	case !fs.ValidPath(name) || strings.ContainsAny(name, "\\\x00") || name == ".":
		return errors.New("a template name must be a relative path below the template directory (no .., no leading /)")
	case !strings.HasSuffix(name, ".html") || path.Base(name) == ".html":
		return errors.New("a template name must end in .html")
	}
	return nil
}

// User is the user a message is about.
type User struct {
	Name     string
	Username string
	Email    string
}

// KeyValue is one line of a notification's details.
type KeyValue struct {
	Key   string
	Value string
}

// Data is everything a template can see; nothing else (no functions beyond
// Go's template built-ins, no store, no files) is reachable from one.
// Templates name the fields as authentik's do, in lower case: .user.name,
// .user.username, .user.email, .url (also .link), .expires (minutes),
// .expires_at, .code, .brand.title, .title, .body, .key_value (a list of
// .key/.value).
type Data struct {
	User User
	// URL is the link to open (email stage).
	URL string
	// Expires is how many minutes the link or code is valid; ExpiresAt
	// when that is (shown in UTC).
	Expires   int
	ExpiresAt time.Time
	// Code is a one-time code (email MFA).
	Code string
	// BrandTitle is the brand's branding_title.
	BrandTitle string
	// Title and Body are a notification's; KeyValue its details.
	Title    string
	Body     string
	KeyValue []KeyValue
}

func (d Data) values() map[string]any {
	kv := make([]map[string]string, 0, len(d.KeyValue))
	for _, p := range d.KeyValue {
		kv = append(kv, map[string]string{"key": p.Key, "value": p.Value})
	}
	brand := d.BrandTitle
	if brand == "" {
		brand = "Gatehouse"
	}
	at := ""
	if !d.ExpiresAt.IsZero() {
		at = d.ExpiresAt.UTC().Format("15:04 MST")
	}
	return map[string]any{
		"user":       map[string]string{"name": d.User.Name, "username": d.User.Username, "email": d.User.Email},
		"url":        d.URL,
		"link":       d.URL,
		"expires":    d.Expires,
		"expires_at": at,
		"code":       d.Code,
		"brand":      map[string]string{"title": brand},
		"title":      d.Title,
		"body":       d.Body,
		"key_value":  kv,
	}
}

// Rendered is a template's output: the two parts of a Message.
type Rendered struct {
	HTML string
	Text string
}

// Templates renders email templates. A file under Dir with a template's
// name replaces the built-in one (and a ".txt" sibling its text part);
// other names are looked up under Dir only. Files are read through an
// os.Root, so no name, ".." or symbolic link reaches outside Dir. Parsed
// templates are cached and parsed again when a file's modification time or
// size changes. A nil *Templates, or an empty Dir, renders the built-in
// templates only. Safe for concurrent use.
type Templates struct {
	Dir string

	mu    sync.Mutex
	cache map[string]*compiled
}

// NewTemplates renders the built-in templates and those under dir.
func NewTemplates(dir string) *Templates { return &Templates{Dir: dir} }

// stamp identifies one version of an override file; the zero stamp is "no
// file".
type stamp struct {
	mod  time.Time
	size int64
}

type compiled struct {
	htmlStamp, textStamp stamp
	html                 *htmltemplate.Template
	text                 *texttemplate.Template
}

// Render executes template name with d: its HTML part and its text part.
// Errors are *TemplateError (errors.Is ErrTemplateNotFound for a name that
// exists nowhere).
func (t *Templates) Render(name string, d Data) (Rendered, error) {
	c, err := t.lookup(name)
	if err != nil {
		return Rendered{}, &TemplateError{Name: name, Err: err}
	}
	v := d.values()
	var h, x bytes.Buffer
	if err := c.html.Execute(&limitWriter{w: &h}, v); err != nil {
		return Rendered{}, &TemplateError{Name: name, Err: err}
	}
	if err := c.text.Execute(&limitWriter{w: &x}, v); err != nil {
		return Rendered{}, &TemplateError{Name: name + " (text part)", Err: err}
	}
	return Rendered{HTML: h.String(), Text: x.String()}, nil
}

// Check reports whether name can be rendered now (exists and parses).
func (t *Templates) Check(name string) error {
	if _, err := t.lookup(name); err != nil {
		return &TemplateError{Name: name, Err: err}
	}
	return nil
}

func (t *Templates) lookup(name string) (*compiled, error) {
	if err := ValidTemplateName(name); err != nil {
		return nil, err
	}
	txtName := strings.TrimSuffix(name, ".html") + ".txt"
	var root *os.Root
	if t != nil && t.Dir != "" {
		r, err := os.OpenRoot(t.Dir)
		switch {
		case err == nil:
			root = r
			defer r.Close()
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("template directory: %w", err)
		}
	}
	hs, err := statFile(root, name)
	if err != nil {
		return nil, err
	}
	ts, err := statFile(root, txtName)
	if err != nil {
		return nil, err
	}
	if hs == (stamp{}) && !Builtin(name) {
		return nil, ErrTemplateNotFound
	}
	if hs == (stamp{}) && ts == (stamp{}) {
		return builtin(name)
	}
	t.mu.Lock()
	c := t.cache[name]
	t.mu.Unlock()
	if c != nil && c.htmlStamp == hs && c.textStamp == ts {
		return c, nil
	}
	c = &compiled{htmlStamp: hs, textStamp: ts}
	if hs != (stamp{}) {
		src, err := readFile(root, name)
		if err != nil {
			return nil, err
		}
		if c.html, err = parseHTML(name, src); err != nil {
			return nil, err
		}
	} else {
		b, err := builtin(name)
		if err != nil {
			return nil, err
		}
		c.html = b.html
	}
	switch {
	case ts != (stamp{}):
		src, err := readFile(root, txtName)
		if err != nil {
			return nil, err
		}
		if c.text, err = texttemplate.New(txtName).Parse(src); err != nil {
			return nil, err
		}
	case Builtin(name):
		b, err := builtin(name)
		if err != nil {
			return nil, err
		}
		c.text = b.text
	default:
		g, err := genericText()
		if err != nil {
			return nil, err
		}
		c.text = g
	}
	t.mu.Lock()
	if t.cache == nil {
		t.cache = map[string]*compiled{}
	}
	t.cache[name] = c
	t.mu.Unlock()
	return c, nil
}

// statFile is the stamp of name under root; the zero stamp when root is nil
// or there is no such file. A name that leads outside root (a symbolic
// link) or is not a regular file is an error.
func statFile(root *os.Root, name string) (stamp, error) {
	if root == nil {
		return stamp{}, nil
	}
	fi, err := root.Stat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return stamp{}, nil
	case err != nil:
		return stamp{}, err
	case !fi.Mode().IsRegular():
		return stamp{}, fmt.Errorf("%s is not a regular file", name)
	case fi.Size() > maxTemplateBytes:
		return stamp{}, fmt.Errorf("%s is larger than %d KiB", name, maxTemplateBytes>>10)
	}
	return stamp{mod: fi.ModTime(), size: fi.Size()}, nil
}

func readFile(root *os.Root, name string) (string, error) {
	b, err := root.ReadFile(name)
	if err != nil {
		return "", err
	}
	if len(b) > maxTemplateBytes {
		return "", fmt.Errorf("%s is larger than %d KiB", name, maxTemplateBytes>>10)
	}
	return string(b), nil
}

// parseHTML parses an HTML template that may use the built-in layout:
// {{define "content"}}...{{end}}{{template "layout" .}}.
func parseHTML(name, src string) (*htmltemplate.Template, error) {
	layout, err := builtinFS.ReadFile("templates/layout.html")
	if err != nil {
		return nil, err
	}
	t := htmltemplate.New(name)
	if _, err := t.New("layout").Parse(string(layout)); err != nil {
		return nil, err
	}
	return t.Parse(src)
}

// builtin parses the embedded template name once.
func builtin(name string) (*compiled, error) {
	if !Builtin(name) {
		return nil, ErrTemplateNotFound
	}
	return builtins(name)
}

var builtinCache sync.Map // name -> *compiled

func builtins(name string) (*compiled, error) {
	if c, ok := builtinCache.Load(name); ok {
		return c.(*compiled), nil
	}
	src, err := builtinFS.ReadFile("templates/" + name)
	if err != nil {
		return nil, err
	}
	h, err := parseHTML(name, string(src))
	if err != nil {
		return nil, fmt.Errorf("built-in: %w", err)
	}
	txtName := strings.TrimSuffix(name, ".html") + ".txt"
	tsrc, err := builtinFS.ReadFile("templates/" + txtName)
	if err != nil {
		return nil, fmt.Errorf("built-in text part: %w", err)
	}
	x, err := texttemplate.New(txtName).Parse(string(tsrc))
	if err != nil {
		return nil, fmt.Errorf("built-in text part: %w", err)
	}
	c, _ := builtinCache.LoadOrStore(name, &compiled{html: h, text: x})
	return c.(*compiled), nil
}

// genericText is the text part of a custom template without a ".txt"
// sibling: whatever of title, body, link, code and details the data holds.
var genericText = sync.OnceValues(func() (*texttemplate.Template, error) {
	src, err := builtinFS.ReadFile("templates/generic.txt")
	if err != nil {
		return nil, err
	}
	return texttemplate.New("generic.txt").Parse(string(src))
})

// limitWriter fails once more than maxOutputBytes were written: a template
// cannot make an unbounded message.
type limitWriter struct {
	w *bytes.Buffer
}

var errTooLarge = fmt.Errorf("output larger than %d KiB", maxOutputBytes>>10)

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.w.Len()+len(p) > maxOutputBytes {
		return 0, errTooLarge
	}
	return l.w.Write(p)
}
