package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// ManagedDiscovered is the managed key of a keypair certificate discovery
// imported, with the keypair's name (authentik's MANAGED_DISCOVERED).
const ManagedDiscovered = "goauthentik.io/crypto/discovered/"

// CertDiscovery imports the PEM certificates and keys of a directory as
// certificate keypairs (authentik's certificate_discovery). A pair is
//
//   - NAME.pem, NAME.crt or NAME.cer (the certificate, optionally followed
//     by its chain) with NAME.key or another of those names holding a
//     "PRIVATE KEY" block: the keypair NAME;
//   - Let's Encrypt's live/DOMAIN/fullchain.pem with privkey.pem beside
//     it: the keypair DOMAIN (cert.pem and chain.pem there are parts of
//     fullchain.pem and are not imported on their own; certbot's archive/
//     holds old versions and is skipped).
//
// anywhere below Dir. Hidden files and directories are skipped (a
// Kubernetes secret volume's ..data links would list each file twice). A
// certificate without a key is imported alone, as authentik does; a key
// without a certificate, a file that does not parse, and a key that does not
// match its certificate are logged and skipped, and so is a name whose
// managed keypair cannot be written (a keypair of that name made by hand).
// The keypair is found by its managed key, so a rename in the admin API
// keeps it; a changed file updates it in place, an unchanged one writes
// nothing.
type CertDiscovery struct {
	Dir string
	// Quiet: a missing Dir is not worth a warning (the default dir).
	Quiet  bool
	Store  store.Certificates
	Sealer *crypto.Sealer // purpose "certificate-private-key", as the API's
	Log    *slog.Logger
}

// CertDiscoveryResult counts what a run did.
type CertDiscoveryResult struct {
	Created, Updated, Unchanged, Skipped int
}

func (r CertDiscoveryResult) String() string {
	return fmt.Sprintf("%d keypairs created, %d updated, %d unchanged, %d skipped", r.Created, r.Updated, r.Unchanged, r.Skipped)
}

// CertificateDiscovery is the hourly certificate_discovery task. changed,
// when not nil, runs it sooner (a file watch).
func CertificateDiscovery(d *CertDiscovery, changed <-chan struct{}) Task {
	return Task{
		Name:     "certificate_discovery",
		Interval: time.Hour,
		Trigger:  changed,
		Run: func(ctx context.Context) (string, error) {
			res, err := d.Run(ctx)
			return res.String(), err
		},
	}
}

// pemFile is one file found below Dir.
type pemFile struct {
	path string
	data []byte
}

// certPair is what Dir holds for one keypair name.
type certPair struct {
	certs, keys []pemFile
}

// maxCertFiles bounds one scan: a cert dir is small, and a mistaken Dir
// ("/") must not walk a whole file system.
const maxCertFiles = 10000

// Run scans Dir once. Only failures to reach the store are errors; bad
// files are logged and counted as skipped.
func (d *CertDiscovery) Run(ctx context.Context) (CertDiscoveryResult, error) {
	var res CertDiscoveryResult
	if d.Dir == "" {
		return res, nil // disabled
	}
	root, err := filepath.EvalSymlinks(d.Dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && d.Quiet {
			return res, nil
		}
		d.Log.Warn("cert_discovery_dir cannot be read", "dir", d.Dir, "error", err)
		return res, nil
	}
	pairs, skipped, err := d.scan(ctx, root)
	res.Skipped += skipped
	if err != nil {
		return res, err
	}
	names := make([]string, 0, len(pairs))
	for n := range pairs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		outcome, err := d.importPair(ctx, name, pairs[name])
		if err != nil {
			return res, err
		}
		switch outcome {
		case outcomeCreated:
			res.Created++
		case outcomeUpdated:
			res.Updated++
		case outcomeUnchanged:
			res.Unchanged++
		default:
			res.Skipped++
		}
	}
	return res, nil
}

// scan reads the candidate files below root, grouped by keypair name.
func (d *CertDiscovery) scan(ctx context.Context, root string) (map[string]*certPair, int, error) {
	pairs := map[string]*certPair{}
	skipped, seen := 0, 0
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			d.Log.Warn("certificate discovery: cannot read", "path", path, "error", err)
			skipped++
			if e != nil && e.IsDir() && path != root {
				return fs.SkipDir
			}
			return nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		name := e.Name()
		if path != root && strings.HasPrefix(name, ".") {
			if e.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			if name == "archive" && path != root {
				return fs.SkipDir // certbot's old versions; live/ links to the current ones
			}
			return nil
		}
		keypair, ok := keypairName(path)
		if !ok {
			return nil
		}
		if seen++; seen > maxCertFiles {
			return fmt.Errorf("more than %d certificate files below %s", maxCertFiles, root)
		}
		data, err := readPEMFile(path)
		if err != nil {
			d.Log.Warn("certificate discovery: cannot read", "path", path, "error", err)
			skipped++
			return nil
		}
		p := pairs[keypair]
		if p == nil {
			p = &certPair{}
			pairs[keypair] = p
		}
		// authentik tells keys from certificates by their content.
		if strings.Contains(string(data), "PRIVATE KEY-----") {
			p.keys = append(p.keys, pemFile{path, data})
		} else {
			p.certs = append(p.certs, pemFile{path, data})
		}
		return nil
	})
	if err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
		d.Log.Warn("certificate discovery stopped early", "dir", root, "error", err)
		err = nil
	}
	return pairs, skipped, err
}

// keypairName names the keypair a file belongs to, or says it is not a
// certificate file.
func keypairName(path string) (string, bool) {
	base := filepath.Base(path)
	dir := filepath.Dir(path)
	switch base {
	case "fullchain.pem", "privkey.pem":
		return filepath.Base(dir), true
	case "cert.pem", "chain.pem":
		// Parts of fullchain.pem in a Let's Encrypt directory.
		if _, err := os.Stat(filepath.Join(dir, "fullchain.pem")); err == nil {
			return "", false
		}
	}
	ext := strings.ToLower(filepath.Ext(base))
	switch ext {
	case ".pem", ".crt", ".cer", ".key":
	default:
		return "", false
	}
	name := strings.TrimSuffix(base, filepath.Ext(base))
	return name, name != ""
}

// readPEMFile reads a regular file (through links) of at most
// crypto.MaxPEMSize bytes.
func readPEMFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, crypto.MaxPEMSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > crypto.MaxPEMSize {
		return nil, fmt.Errorf("larger than %d bytes", crypto.MaxPEMSize)
	}
	return data, nil
}

type outcome int

const (
	outcomeSkipped outcome = iota
	outcomeCreated
	outcomeUpdated
	outcomeUnchanged
)

// importPair checks one name's files and creates or updates its keypair.
// Log lines name files, never their content: a key's bytes stay out.
func (d *CertDiscovery) importPair(ctx context.Context, name string, p *certPair) (outcome, error) {
	log := d.Log.With("keypair", name)
	paths := func(files []pemFile) []string {
		out := make([]string, len(files))
		for i, f := range files {
			out[i] = f.path
		}
		return out
	}
	switch {
	case len(p.certs) == 0:
		log.Warn("certificate discovery: a private key without a certificate", "files", paths(p.keys))
		return outcomeSkipped, nil
	case len(p.certs) > 1:
		log.Warn("certificate discovery: more than one certificate file for one name", "files", paths(p.certs))
		return outcomeSkipped, nil
	case len(p.keys) > 1:
		log.Warn("certificate discovery: more than one private key file for one name", "files", paths(p.keys))
		return outcomeSkipped, nil
	}
	cert := p.certs[0]
	var keyPEM []byte
	if len(p.keys) == 1 {
		keyPEM = p.keys[0].data
	}
	info, err := crypto.Inspect(cert.data, keyPEM)
	if err != nil {
		log.Warn("certificate discovery: skipped", "files", append(paths(p.certs), paths(p.keys)...), "error", err)
		return outcomeSkipped, nil
	}
	var normKey []byte
	if keyPEM != nil {
		if normKey, err = crypto.NormalizeKeyPEM(keyPEM); err != nil {
			log.Warn("certificate discovery: skipped", "files", paths(p.keys), "error", err)
			return outcomeSkipped, nil
		}
	}
	managed := ManagedDiscovered + name
	k, err := d.Store.KeyPairByManaged(ctx, managed)
	isNew := errors.Is(err, store.ErrNotFound)
	if err != nil && !isNew {
		return outcomeSkipped, fmt.Errorf("keypair %s: %w", name, err)
	}
	if isNew {
		k = &store.CertificateKeyPair{Name: name, Managed: managed}
	} else if d.same(k, cert.data, info, normKey) {
		return outcomeUnchanged, nil
	}
	k.CertificateData = string(cert.data)
	k.KeySealed = ""
	if normKey != nil {
		if k.KeySealed, err = d.Sealer.Seal(normKey); err != nil {
			return outcomeSkipped, fmt.Errorf("keypair %s: sealing the key: %w", name, err)
		}
	}
	exp := info.NotAfter.UTC()
	k.KeyType, k.CertExpiry, k.CertSubject = string(info.KeyType), &exp, info.Subject
	k.FingerprintSHA256, k.FingerprintSHA1, k.KID = info.FingerprintSHA256, info.FingerprintSHA1, info.KID
	if isNew {
		err = d.Store.CreateKeyPair(ctx, k)
	} else {
		err = d.Store.UpdateKeyPair(ctx, k)
	}
	switch {
	case errors.Is(err, store.ErrConflict):
		log.Warn("certificate discovery: a keypair of this name exists and was not discovered; rename it to import the file",
			"file", cert.path)
		return outcomeSkipped, nil
	case errors.Is(err, store.ErrNotFound):
		log.Warn("certificate discovery: the keypair was deleted meanwhile; it is imported on the next run")
		return outcomeSkipped, nil
	case err != nil:
		return outcomeSkipped, fmt.Errorf("keypair %s: %w", name, err)
	}
	if isNew {
		log.Info("certificate discovery: imported", "file", cert.path, "subject", info.Subject,
			"fingerprint_sha256", info.FingerprintSHA256, "private_key", normKey != nil)
		return outcomeCreated, nil
	}
	log.Info("certificate discovery: updated", "file", cert.path, "subject", info.Subject,
		"fingerprint_sha256", info.FingerprintSHA256, "private_key", normKey != nil)
	return outcomeUpdated, nil
}

// same reports that the stored keypair already holds these files.
func (d *CertDiscovery) same(k *store.CertificateKeyPair, certPEM []byte, info *crypto.Info, normKey []byte) bool {
	if k.CertificateData != string(certPEM) || k.FingerprintSHA256 != info.FingerprintSHA256 {
		return false
	}
	if normKey == nil || k.KeySealed == "" {
		return normKey == nil && k.KeySealed == ""
	}
	// A key that no longer opens (secret_key changed) is rewritten.
	old, err := d.Sealer.Open(k.KeySealed)
	return err == nil && string(old) == string(normKey)
}

// WatchCertificates watches dir and the directories below it until ctx
// ends and signals changed once changes have been quiet for debounce.
// Every change counts (a Kubernetes secret volume swaps a hidden ..data
// link; certbot replaces live/ links): the discovery it triggers is
// idempotent. A failed watch is retried every retry; quiet logs a missing
// dir at debug level (the default dir).
func WatchCertificates(ctx context.Context, log *slog.Logger, dir string, quiet bool, debounce, retry time.Duration,
	changed chan<- struct{}) {
	missing := slog.LevelWarn
	if quiet {
		missing = slog.LevelDebug
	}
	watchDir(ctx, log, dirWatch{name: "cert_discovery_dir", dir: dir, debounce: debounce, retry: retry, missing: missing}, changed)
}
