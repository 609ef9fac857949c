package password

import (
	"errors"
	"strings"
	"testing"
)

func TestHashVerify(t *testing.T) {
	if BenchHash {
		t.Skip("benchmark build (-tags benchhash): the default parameters are deliberately cheap")
	}
	h, err := Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "argon2$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("unexpected encoding %q", h)
	}
	h2, _ := Hash("correct horse")
	if h == h2 {
		t.Error("two hashes of one password are equal: salt is not random")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"correct horse", true}, {"correct horsE", false}, {"", false}} {
		ok, rehash, err := Verify(tc.pw, h)
		if err != nil || ok != tc.want || rehash {
			t.Errorf("Verify(%q) = %v, %v, %v; want %v", tc.pw, ok, rehash, err, tc.want)
		}
	}
}

func TestVerifyWeakerNeedsRehash(t *testing.T) {
	if BenchHash {
		t.Skip("benchmark build (-tags benchhash): the default parameters are deliberately cheap")
	}
	h, err := HashWith("pw", Params{MemoryKiB: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	ok, rehash, err := Verify("pw", h)
	if !ok || !rehash || err != nil {
		t.Errorf("Verify = %v, %v, %v; want ok and rehash", ok, rehash, err)
	}
}

// Django's Argon2PasswordHasher defaults (m=102400, t=2, p=8) verify and are
// not flagged for rehash (stronger memory than ours).
func TestVerifyDjangoParameters(t *testing.T) {
	h, _ := HashWith("gatehouse", Params{MemoryKiB: 102400, Time: 2, Threads: 8, SaltLen: 16, KeyLen: 32})
	ok, rehash, err := Verify("gatehouse", h)
	if !ok || rehash || err != nil {
		t.Fatalf("round trip with Django's parameters failed: %v", err)
	}
}

func TestVerifyRejectsMalformed(t *testing.T) {
	for _, enc := range []string{
		// "" is no longer an error: it is an unusable password (django_test.go).
		"plain", "argon2$argon2i$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA",
		"argon2$argon2id$v=18$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"argon2$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"argon2$argon2id$v=19$m=19456,t=2,p=1$!!!$aGFzaA",
		"pbkdf2_sha256$1$salt$hash",
	} {
		ok, _, err := Verify("x", enc)
		if ok || !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("Verify(%q) = %v, %v; want ErrUnknownFormat", enc, ok, err)
		}
	}
}

func BenchmarkHash(b *testing.B) {
	for b.Loop() {
		if _, err := Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
