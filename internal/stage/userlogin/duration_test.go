package userlogin

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"":                   0,
		"seconds=0":          0,
		"hours=1;minutes=30": 90 * time.Minute,
		"days=1,hours=2":     26 * time.Hour,
		"weeks=4":            28 * 24 * time.Hour,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"weeks=30501", "weeks=100000", "days=40000;days=40000", "hours=-1", "minutes", "fortnights=1", "days=x"} {
		if got, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", bad, got)
		}
	}
}
