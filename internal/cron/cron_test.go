package cron

import (
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	from := time.Date(2026, 3, 14, 10, 7, 30, 0, time.UTC) // a Saturday
	for _, tc := range []struct {
		spec string
		want []string
	}{
		{"2-59/5 * * * *", []string{"2026-03-14 10:12", "2026-03-14 10:17"}},
		{"*/15 * * * *", []string{"2026-03-14 10:15", "2026-03-14 10:30"}},
		{"@hourly", []string{"2026-03-14 11:00", "2026-03-14 12:00"}},
		{"0 0 * * *", []string{"2026-03-15 00:00", "2026-03-16 00:00"}},
		{"30 8 * * mon-fri", []string{"2026-03-16 08:30", "2026-03-17 08:30"}},
		{"0 12 1 * 7", []string{"2026-03-15 12:00", "2026-03-22 12:00"}}, // day 1 OR Sunday
		{"0 0 29 feb *", []string{"2028-02-29 00:00", "2032-02-29 00:00"}},
		{"7 10 14 3 *", []string{"2027-03-14 10:07", "2028-03-14 10:07"}}, // not the current minute
		{"5,35 9-10 * * *", []string{"2026-03-14 10:35", "2026-03-15 09:05"}},
		{"0 0 30 2 *", []string{"0001-01-01 00:00"}},
	} {
		s, err := Parse(tc.spec)
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		at := from
		for _, want := range tc.want {
			at = s.Next(at)
			if got := at.Format("2006-01-02 15:04"); got != want {
				t.Errorf("%s: next = %s, want %s", tc.spec, got, want)
				break
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, spec := range []string{"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *",
		"* * * 13 *", "* * * * 8", "5-1 * * * *", "*/0 * * * *", "a * * * *", "1-2-3 * * * *", "*/x * * * *", ",, * * * *"} {
		if _, err := Parse(spec); err == nil {
			t.Errorf("Parse(%q) accepted", spec)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("2-59/5 * * * *")
	f.Add("0 12 1 * sun")
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := Parse(spec)
		if err != nil {
			return
		}
		from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		if n := s.Next(from); !n.IsZero() && !n.After(from) {
			t.Fatalf("%q: next %v is not after %v", spec, n, from)
		}
	})
}
