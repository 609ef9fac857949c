package password

import (
	"errors"
	"strings"
	"testing"
)

// djangoVectors were produced by an independent implementation, not by this
// package: Python 3.11's standard library (hashlib.pbkdf2_hmac, base64,
// binascii) plus Debian 12's python3-bcrypt 3.2.2 and python3-argon2
// (argon2-cffi 21.1.0, whose DEFAULT_HASH_LENGTH is 16), reproducing the
// encode methods of Django's hashers (django/contrib/auth/hashers.py) with
// fixed salts so that the script is deterministic. Run with /usr/bin/python3:
//
//	import base64, binascii, hashlib, bcrypt, argon2
//	from argon2.low_level import hash_secret, Type
//
//	def pbkdf2(alg, digest, pw, salt, it):  # PBKDF2PasswordHasher.encode
//	    h = hashlib.pbkdf2_hmac(digest, pw.encode(), salt.encode(), it)
//	    return "%s$%d$%s$%s" % (alg, it, salt, base64.b64encode(h).decode("ascii").strip())
//
//	def argon(pw, salt, t, m, p, typ, hash_len=argon2.DEFAULT_HASH_LENGTH):  # Argon2PasswordHasher.encode
//	    return "argon2" + hash_secret(pw.encode(), salt.encode(), time_cost=t, memory_cost=m,
//	                                  parallelism=p, hash_len=hash_len, type=typ).decode("ascii")
//
//	def bcrypt_sha256(pw, salt):  # BCryptSHA256PasswordHasher.encode
//	    return "bcrypt_sha256$" + bcrypt.hashpw(binascii.hexlify(hashlib.sha256(pw.encode()).digest()), salt).decode("ascii")
//
//	def bcrypt_plain(pw, salt):  # BCryptPasswordHasher.encode
//	    return "bcrypt$" + bcrypt.hashpw(pw.encode(), salt).decode("ascii")
//
//	CH = "correct horse battery staple"
//	U = "p\u00e4ssw\u00f6rd \u2713"
//	L = "0123456789" * 10  # 100 bytes: longer than bcrypt's 72-byte limit
//	for pw, enc in [
//	    (CH, pbkdf2("pbkdf2_sha256", "sha256", CH, "Jk0DcnhAUqlbOBRAbDpBYK", 1000000)),
//	    (U,  pbkdf2("pbkdf2_sha256", "sha256", U, "saltysalt", 1000)),
//	    ("", pbkdf2("pbkdf2_sha256", "sha256", "", "x", 1)),
//	    (CH, pbkdf2("pbkdf2_sha1", "sha1", CH, "q7bVrPz2vO1nXoT4eS9wLm", 30000)),
//	    (U,  pbkdf2("pbkdf2_sha1", "sha1", U, "saltysalt", 1000)),
//	    (CH, argon(CH, "Xq8pTnW2rL5vK9mB3cZ7dF", 2, 102400, 8, Type.ID)),
//	    (CH, argon(CH, "Xq8pTnW2rL5vK9mB3cZ7dF", 2, 102400, 8, Type.ID, hash_len=32)),
//	    (CH, argon(CH, "aB3dE5gH7jK9mN1pQ3sT5v", 2, 512, 2, Type.I)),
//	    (U,  argon(U, "somesaltsomesalt", 3, 70, 2, Type.I, hash_len=20)),
//	    (CH, bcrypt_sha256(CH, b"$2b$12$" + b"R9h/cIPz0gi.URNNX3kh2O")),
//	    (U,  bcrypt_sha256(U, b"$2b$04$" + b"EXRkfkdmXn2gzds2SSitu.")),
//	    (L,  bcrypt_sha256(L, b"$2b$04$" + b"abcdefghijklmnopqrstuu")),
//	    (CH, bcrypt_plain(CH, b"$2b$05$" + b"N9qo8uLOickgx2ZMRZoMye")),
//	    (U,  bcrypt_plain(U, b"$2a$04$" + b"KmG1Q2n4/3l5Kx3XkP2L0O")),
//	    (L,  bcrypt_plain(L, b"$2b$04$" + b"abcdefghijklmnopqrstuu")),
//	]:
//	    print("{%r, %r}," % (pw, enc))
var djangoVectors = []struct {
	pw, enc string
	rehash  bool
}{
	// Django 5.2's default PBKDF2PasswordHasher iteration count.
	{"correct horse battery staple", "pbkdf2_sha256$1000000$Jk0DcnhAUqlbOBRAbDpBYK$td4biZLDIk+QIYHuVWOsDR2NtOLAUdgWmci1P8gtxu0=", true},
	{"pässwörd ✓", "pbkdf2_sha256$1000$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds=", true},
	{"", "pbkdf2_sha256$1$x$yb9iKunqNijXRQKUvO6LoyiwVgfOzKs1+3gaWy8rzxc=", true},
	{"correct horse battery staple", "pbkdf2_sha1$30000$q7bVrPz2vO1nXoT4eS9wLm$gZ1vLvQFVXGIh3esWVxALOP+mCw=", true},
	{"pässwörd ✓", "pbkdf2_sha1$1000$saltysalt$KobSeM4Sfs9j8nHaB38gyIGmzXo=", true},
	// Django's Argon2PasswordHasher defaults with argon2-cffi 21.1's 16-byte
	// hash: shorter than DefaultParams.KeyLen, so it is re-hashed.
	{"correct horse battery staple", "argon2$argon2id$v=19$m=102400,t=2,p=8$WHE4cFRuVzJyTDV2SzltQjNjWjdkRg$vhcVpu3pF9RrXynH2SzkOg", true},
	// The same with argon2-cffi >= 21.2's 32-byte hash: at least as strong as
	// DefaultParams, so kept.
	{"correct horse battery staple", "argon2$argon2id$v=19$m=102400,t=2,p=8$WHE4cFRuVzJyTDV2SzltQjNjWjdkRg$dBEiLV6mhfDIgVVe5YUUYP0MBV1zt1+obtyGzixQK40", false},
	// Django 1.10-2.x's argon2i defaults (m=512, t=2, p=2).
	{"correct horse battery staple", "argon2$argon2i$v=19$m=512,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw", true},
	// m=70 is not a multiple of 4p: both implementations round it down to 64.
	{"pässwörd ✓", "argon2$argon2i$v=19$m=70,t=3,p=2$c29tZXNhbHRzb21lc2FsdA$Y6UonCQY2hAwErHbHvfB1mgCOAk", true},
	// Django's default bcrypt cost (12).
	{"correct horse battery staple", "bcrypt_sha256$$2b$12$R9h/cIPz0gi.URNNX3kh2O49juFESzpvDGG6d/piqUIfy3cp6tTmG", true},
	{"pässwörd ✓", "bcrypt_sha256$$2b$04$EXRkfkdmXn2gzds2SSitu.NME5emeEfjUF/Z8aOG1aKGuI3ZgWmKS", true},
	{strings.Repeat("0123456789", 10), "bcrypt_sha256$$2b$04$abcdefghijklmnopqrstuuDHy/GicbxJRVhaFuEex/JTktnMWNNLG", true},
	{"correct horse battery staple", "bcrypt$$2b$05$N9qo8uLOickgx2ZMRZoMyemwPFtx3QEfMRArLNRINBYFDEB9/P5yG", true},
	{"pässwörd ✓", "bcrypt$$2a$04$KmG1Q2n4/3l5Kx3XkP2L0O7c08NkeJANvyBwqcut48LEYYEW4NGPy", true},
	{strings.Repeat("0123456789", 10), "bcrypt$$2b$04$abcdefghijklmnopqrstuum2G75IXDN/xsgbNa/hCiPSKyIHQd70S", true},
}

func TestVerifyDjangoVectors(t *testing.T) {
	for _, v := range djangoVectors {
		t.Run(v.enc[:strings.IndexByte(v.enc, '$')], func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := Verify(v.pw, v.enc)
			if !ok || rehash != v.rehash || err != nil {
				t.Errorf("Verify(%q, %q) = %v, %v, %v; want true, %v, nil", v.pw, v.enc, ok, rehash, err, v.rehash)
			}
			wrongs := []string{"x" + v.pw, "!" + strings.ToUpper(v.pw)}
			if !strings.HasPrefix(v.enc, "bcrypt$") || len(v.pw) < 72 {
				// Plain bcrypt ignores bytes past 72 (TestVerifyBcryptLongPasswords).
				wrongs = append(wrongs, v.pw+"x")
			}
			for _, wrong := range wrongs {
				ok, rehash, err := Verify(wrong, v.enc)
				if ok || rehash || err != nil {
					t.Errorf("Verify(%q, %q) = %v, %v, %v; want false, false, nil", wrong, v.enc, ok, rehash, err)
				}
			}
		})
	}
}

// Plain bcrypt reads only the first 72 bytes of a password (Django's
// BCryptPasswordHasher inherits that), bcrypt_sha256 pre-hashes to avoid it.
func TestVerifyBcryptLongPasswords(t *testing.T) {
	long := strings.Repeat("0123456789", 10)
	sameHead := long[:72] + "different tail"
	for _, tc := range []struct {
		enc  string
		want bool
	}{
		{"bcrypt$$2b$04$abcdefghijklmnopqrstuum2G75IXDN/xsgbNa/hCiPSKyIHQd70S", true},
		{"bcrypt_sha256$$2b$04$abcdefghijklmnopqrstuuDHy/GicbxJRVhaFuEex/JTktnMWNNLG", false},
	} {
		if ok, _, err := Verify(sameHead, tc.enc); ok != tc.want || err != nil {
			t.Errorf("Verify(72-byte head + other tail, %q) = %v, %v; want %v", tc.enc, ok, err, tc.want)
		}
	}
}

func TestVerifyUnusable(t *testing.T) {
	for _, enc := range []string{
		"", "!", "!XcGAoIiHWs0NiJB6UEq1W3DqaM0cC0t8nBsOA0Bp",
		// A marker in front of what would otherwise verify.
		"!pbkdf2_sha256$1$x$yb9iKunqNijXRQKUvO6LoyiwVgfOzKs1+3gaWy8rzxc=",
	} {
		for _, pw := range []string{"", "!", enc, "correct horse battery staple"} {
			if ok, rehash, err := Verify(pw, enc); ok || rehash || err != nil {
				t.Errorf("Verify(%q, %q) = %v, %v, %v; want false, false, nil", pw, enc, ok, rehash, err)
			}
		}
	}
}

// validBcrypt53 is a bcrypt salt and hash (53 characters) used to build
// malformed bcrypt encodings around otherwise valid material.
const validBcrypt53 = "N9qo8uLOickgx2ZMRZoMyemwPFtx3QEfMRArLNRINBYFDEB9/P5yG"

var malformedLegacy = []string{
	// No or unknown algorithm (other Django hashers are not read).
	"plain", "pbkdf2_sha256", "argon2", "bcrypt", "$", "$$$",
	"md5$salt$a1b2c3", "sha1$salt$a1b2c3", "unsalted_md5$a1b2c3", "crypt$$abc",
	"scrypt$16384$salt$8$1$aGFzaA==", "PBKDF2_SHA256$1000$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds=",

	// pbkdf2: field counts.
	"pbkdf2_sha256$", "pbkdf2_sha256$1000", "pbkdf2_sha256$1000$saltysalt",
	"pbkdf2_sha256$1000$salty$salt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds=",
	"pbkdf2_sha256$1000$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds=$",
	// pbkdf2: iterations that are not a canonical decimal in range.
	"pbkdf2_sha256$abc$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds=",
	"pbkdf2_sha256$$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds=",
	"pbkdf2_sha256$-1000$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds=",
	"pbkdf2_sha256$+1000$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds=",
	"pbkdf2_sha256$ 1000$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds=",
	"pbkdf2_sha256$1e3$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds=",
	"pbkdf2_sha256$0x3e8$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds=",
	"pbkdf2_sha256$01000$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds=",
	"pbkdf2_sha256$0$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds=",
	"pbkdf2_sha256$10000001$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds=",
	"pbkdf2_sha256$2147483648$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds=",
	"pbkdf2_sha256$99999999999999999999999999$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds=",
	"pbkdf2_sha1$abc$saltysalt$KobSeM4Sfs9j8nHaB38gyIGmzXo=",
	"pbkdf2_sha1$4294967297$saltysalt$KobSeM4Sfs9j8nHaB38gyIGmzXo=",
	// pbkdf2: empty salt.
	"pbkdf2_sha256$1000$$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds=",
	// pbkdf2: hash not the canonical padded base64 of one digest.
	"pbkdf2_sha256$1000$saltysalt$",
	"pbkdf2_sha256$1000$saltysalt$!!!",
	"pbkdf2_sha256$1000$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds",    // padding missing
	"pbkdf2_sha256$1000$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/dt=",   // stray bits
	"pbkdf2_sha256$1000$saltysalt$7jHHAVi5mJ_av0navvdzuOiUFexKmMYBy14dvfNM_ds=",   // URL alphabet
	"pbkdf2_sha256$1000$saltysalt$7jHHAVi5mJ/av0navvdzuOiU\nFexKmMYBy14dvfNM/ds=", // line break
	"pbkdf2_sha256$1000$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds=\r\n",
	"pbkdf2_sha256$1000$saltysalt$KobSeM4Sfs9j8nHaB38gyIGmzXo=",               // SHA-1 sized
	"pbkdf2_sha1$1000$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds=", // SHA-256 sized
	"pbkdf2_sha256$1000$saltysalt$aGFzaA==",

	// argon2: variant, version and field counts.
	"argon2$", "argon2$argon2id", "argon2$argon2id$v=19$m=512,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg",
	"argon2$argon2d$v=19$m=512,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2$v=19$m=512,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$m=512,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw", // version 0x10 encoding
	"argon2$argon2i$v=16$m=512,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=019$m=512,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=19x$m=512,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=19$m=512,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw$",
	"argon2$$argon2i$v=19$m=512,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	// argon2: parameters not exactly m=,t=,p= decimals, or out of range.
	"argon2$argon2i$v=19$m=512,t=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=19$t=2,m=512,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=19$m=512,t=2,p=2x$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=19$m=512,t=2,p=2,$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=19$m=0512,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=19$m=+512,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=19$m=abc,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=19$m=512,t=0,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=19$m=512,t=17,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=19$m=512,t=4294967297,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=19$m=512,t=2,p=0$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=19$m=4096,t=2,p=256$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=19$m=0,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=19$m=15,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw", // under 8 KiB per lane
	"argon2$argon2id$v=19$m=1048577,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2id$v=19$m=99999999999999999999,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	// argon2: salt or hash not canonical unpadded base64, or too short.
	"argon2$argon2i$v=19$m=512,t=2,p=2$!!!$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=19$m=512,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg==$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=19$m=512,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dh$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=19$m=512,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw==",
	"argon2$argon2i$v=19$m=512,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$qTmsxuYg8oVoncGboNiBH",
	"argon2$argon2i$v=19$m=512,t=2,p=2$YUIzZEU1Z0g3aks5bU4x\ncFEzc1Q1dg$qTmsxuYg8oVoncGboNiBHw",
	"argon2$argon2i$v=19$m=512,t=2,p=2$c2FsdA$qTmsxuYg8oVoncGboNiBHw", // 4-byte salt
	"argon2$argon2i$v=19$m=512,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$aGFzaA",
	"argon2$argon2i$v=19$m=512,t=2,p=2$YUIzZEU1Z0g3aks5bU4xcFEzc1Q1dg$",

	// bcrypt: not exactly "$2[aby]$NN$" + 53 characters.
	"bcrypt$", "bcrypt_sha256$", "bcrypt$$", "bcrypt$$2b$04$",
	"bcrypt$2b$04$" + validBcrypt53, // the empty field after "bcrypt$" is missing
	"bcrypt$$2b$04$" + validBcrypt53[1:],
	"bcrypt$$2b$04$" + validBcrypt53 + "x",
	"bcrypt$$2b$04$" + validBcrypt53 + "$",
	"bcrypt$$2x$04$" + validBcrypt53,
	"bcrypt$$2$04$" + validBcrypt53 + "x",
	"bcrypt$$3b$04$" + validBcrypt53,
	"bcrypt$$2b$4$" + validBcrypt53 + "x",
	"bcrypt$$2b$4a$" + validBcrypt53,
	"bcrypt$$2b$-4$" + validBcrypt53,
	"bcrypt$$2b$04$" + strings.Replace(validBcrypt53, "N", "*", 1),
	"bcrypt$$2b$04$" + strings.Replace(validBcrypt53, "y", "=", 1),
	"bcrypt$$2b$04$" + strings.Replace(validBcrypt53, "q", "\x00", 1),
	"bcrypt$$2b$04x" + validBcrypt53,
	// bcrypt: cost under bcrypt's minimum or over our bound.
	"bcrypt$$2b$00$" + validBcrypt53,
	"bcrypt$$2b$03$" + validBcrypt53,
	"bcrypt$$2b$17$" + validBcrypt53,
	"bcrypt$$2b$31$" + validBcrypt53,
	"bcrypt$$2b$99$" + validBcrypt53,
	"bcrypt_sha256$$2b$17$" + validBcrypt53,
	"bcrypt_sha256$$2b$03$" + validBcrypt53,
	"bcrypt_sha256$2b$04$" + validBcrypt53,
	"bcrypt_sha256$$$2b$04$" + validBcrypt53,
}

func TestVerifyLegacyRejectsMalformed(t *testing.T) {
	for _, enc := range malformedLegacy {
		ok, rehash, err := Verify("correct horse battery staple", enc)
		if ok || rehash || !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("Verify(%q) = %v, %v, %v; want ErrUnknownFormat", enc, ok, rehash, err)
		}
	}
}

// cheapToVerify is FuzzVerify's conservative pre-check: false for any
// encoding whose declared cost could make Verify slow, so that a fuzz run
// stays fast. It reads the cost fields where Verify would (PBKDF2 iterations
// in the first field, bcrypt's two cost digits, every number after "m=",
// "t=" or "p=" in an argon2 encoding) and only lets small numbers through;
// fields that are not plain digits are rejected by Verify before any hashing.
func cheapToVerify(enc string) bool {
	algorithm, rest, _ := strings.Cut(enc, "$")
	switch algorithm {
	case "pbkdf2_sha256", "pbkdf2_sha1":
		iterations, _, _ := strings.Cut(rest, "$")
		return !allDigits(iterations) || small(iterations, 1000)
	case "bcrypt", "bcrypt_sha256":
		return len(rest) < 6 || !allDigits(rest[4:6]) || rest[4:6] <= "04"
	case "argon2":
		for name, limit := range map[string]uint64{"m=": 128, "t=": 3, "p=": 16} {
			for s := rest; ; {
				i := strings.Index(s, name)
				if i < 0 {
					break
				}
				s = s[i+len(name):]
				n := 0
				for n < len(s) && isDigit(s[n]) {
					n++
				}
				if n > 0 && !small(s[:n], limit) {
					return false
				}
			}
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// small reports whether the digit string s is at most limit.
func small(s string, limit uint64) bool {
	s = strings.TrimLeft(s, "0")
	if len(s) > 19 {
		return false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		n = n*10 + uint64(s[i]-'0')
	}
	return n <= limit
}

func FuzzVerify(f *testing.F) {
	for _, v := range djangoVectors {
		if cheapToVerify(v.enc) {
			f.Add(v.pw, v.enc)
		}
	}
	for _, enc := range malformedLegacy {
		if cheapToVerify(enc) {
			f.Add("correct horse battery staple", enc)
		}
	}
	f.Add("pw", "argon2$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$c29tZWhhc2hzb21laGFzaA")
	f.Add("", "")
	f.Add("!", "!unusable")
	f.Fuzz(func(t *testing.T, pw, enc string) {
		if !cheapToVerify(enc) {
			t.Skip("declared cost too high for a fuzz run")
		}
		ok, rehash, err := Verify(pw, enc)
		if err != nil {
			if ok || rehash || !errors.Is(err, ErrUnknownFormat) {
				t.Fatalf("Verify(%q, %q) = %v, %v, %v: an error must be ErrUnknownFormat with false, false", pw, enc, ok, rehash, err)
			}
			return
		}
		if !ok && rehash {
			t.Fatalf("Verify(%q, %q): needsRehash without a match", pw, enc)
		}
		if (enc == "" || strings.HasPrefix(enc, UnusablePrefix)) && ok {
			t.Fatalf("Verify(%q, %q): unusable password matched", pw, enc)
		}
		if ok && !rehash && !strings.HasPrefix(enc, "argon2$argon2id$") {
			t.Fatalf("Verify(%q, %q): legacy format not flagged for rehash", pw, enc)
		}
		if ok2, rehash2, err2 := Verify(pw, enc); ok2 != ok || rehash2 != rehash || err2 != nil {
			t.Fatalf("Verify(%q, %q) is not deterministic", pw, enc)
		}
	})
}
