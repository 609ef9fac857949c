package password

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Defaults of HIBPClient.
const (
	// DefaultHIBPBaseURL is the Pwned Passwords range endpoint; the five
	// hex characters of the prefix are appended to it.
	DefaultHIBPBaseURL = "https://api.pwnedpasswords.com/range/"
	// DefaultHIBPTimeout bounds one range request, connection included.
	DefaultHIBPTimeout = 5 * time.Second
	// DefaultHIBPMaxResponse bounds the body read. A padded answer holds
	// 800 to 1,000 lines of at most about 45 bytes, some 40 KiB.
	DefaultHIBPMaxResponse = 1 << 20
)

// Errors of HIBPClient.Count, to classify with errors.Is.
var (
	ErrHIBPStatus    = errors.New("pwned passwords: unexpected status")
	ErrHIBPTooLarge  = errors.New("pwned passwords: response too large")
	ErrHIBPMalformed = errors.New("pwned passwords: malformed response")
)

// prefixLen is the number of hex characters of the SHA-1 sent to the range
// API; the other 35 never leave the process.
const prefixLen = 5

// HIBPClient counts a password's appearances in Pwned Passwords through the
// k-anonymity range API (https://haveibeenpwned.com/API/v3#PwnedPasswords).
// The zero value is ready to use. It never logs.
type HIBPClient struct {
	// BaseURL is the range endpoint, ending in a slash
	// (DefaultHIBPBaseURL when empty).
	BaseURL string
	// HTTP sends the request (http.DefaultClient when nil).
	HTTP *http.Client
	// Timeout bounds one Count, on top of ctx (DefaultHIBPTimeout when 0;
	// negative means no bound besides ctx).
	Timeout time.Duration
	// MaxResponse bounds the body in bytes (DefaultHIBPMaxResponse when 0).
	MaxResponse int64
	// UserAgent is sent with the request, which the API requires
	// ("gatehouse" when empty).
	UserAgent string
}

var _ HIBPChecker = (*HIBPClient)(nil)

// Count returns how many times password appears in Pwned Passwords, 0 when
// it does not. Only the first five hex characters of its SHA-1 are sent; the
// rest is compared with every line of the answer in constant time.
func (c *HIBPClient) Count(ctx context.Context, password string) (int, error) {
	sum := sha1.Sum([]byte(password))
	var digest [2 * sha1.Size]byte
	hex.Encode(digest[:], sum[:])
	upperHex(digest[:])
	prefix, suffix := string(digest[:prefixLen]), digest[prefixLen:]

	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultHIBPTimeout
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	base := c.BaseURL
	if base == "" {
		base = DefaultHIBPBaseURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+prefix, nil)
	if err != nil {
		return 0, fmt.Errorf("pwned passwords: %w", err)
	}
	// Padding makes every answer 800-1,000 lines long, so its size tells an
	// observer of the (encrypted) traffic nothing about the prefix.
	req.Header.Set("Add-Padding", "true")
	ua := c.UserAgent
	if ua == "" {
		ua = "gatehouse"
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Accept", "text/plain")

	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("pwned passwords: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return 0, fmt.Errorf("%w: %s", ErrHIBPStatus, resp.Status)
	}
	limit := c.MaxResponse
	if limit <= 0 {
		limit = DefaultHIBPMaxResponse
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return 0, fmt.Errorf("pwned passwords: reading the response: %w", err)
	}
	if int64(len(body)) > limit {
		return 0, fmt.Errorf("%w: more than %d bytes", ErrHIBPTooLarge, limit)
	}
	return matchRange(body, suffix)
}

// matchRange parses a range answer, lines of "SUFFIX:COUNT" separated by
// CRLF (LF alone is accepted), and returns the count of suffix (upper-case
// hex). Every line is compared, in constant time, so the time taken does not
// depend on where, or whether, the suffix is found. Padding lines (count 0)
// cannot change the result. Errors name the line, never its content.
func matchRange(body, suffix []byte) (int, error) {
	count := 0
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 128), 1024)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		got, num, found := bytes.Cut(text, []byte{':'})
		if !found || len(got) != len(suffix) || !isHex(got) {
			return 0, fmt.Errorf("%w: line %d is not SUFFIX:COUNT", ErrHIBPMalformed, line)
		}
		n, err := strconv.Atoi(string(bytes.TrimSpace(num)))
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%w: line %d has no valid count", ErrHIBPMalformed, line)
		}
		var upper [2*sha1.Size - prefixLen]byte
		copy(upper[:], got)
		upperHex(upper[:])
		if subtle.ConstantTimeCompare(upper[:], suffix) == 1 && n > 0 {
			count = n
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrHIBPMalformed, err)
	}
	return count, nil
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// upperHex upper-cases the hex letters of b in place.
func upperHex(b []byte) {
	for i, c := range b {
		if 'a' <= c && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
}
