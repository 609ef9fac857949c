package flow

import (
	"testing"

	"github.com/google/uuid"
)

// ?next= must never send a user to another site (open redirect).
func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/if/user/": "/if/user/",
		"/application/o/authorize/?client_id=x&redirect_uri=https%3A%2F%2Fapp": "/application/o/authorize/?client_id=x&redirect_uri=https%3A%2F%2Fapp",
		"":                         "",
		"https://evil.example/":    "",
		"//evil.example/":          "",
		"/\\evil.example/":         "",
		"javascript:alert(1)":      "",
		"evil.example":             "",
		"/ok\r\nLocation: //evil/": "",
		"/%2F%2Fevil.example":      "/%2F%2Fevil.example",
	} {
		if got := SafeNext(in); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSafeNext(f *testing.F) {
	f.Add("/if/user/")
	f.Add("//x")
	f.Fuzz(func(t *testing.T, s string) {
		got := SafeNext(s)
		if got == "" {
			return
		}
		if got[0] != '/' || (len(got) > 1 && (got[1] == '/' || got[1] == '\\')) {
			t.Fatalf("SafeNext(%q) = %q leaves the site", s, got)
		}
	})
}

func TestInsertNext(t *testing.T) {
	a, b, c := uuid.New(), uuid.New(), uuid.New()
	r := &Run{Plan: &Plan{Stages: []PlannedStage{{StageUUID: a}, {StageUUID: b}}}}
	r.InsertNext(c)
	if got := []uuid.UUID{r.Plan.Stages[0].StageUUID, r.Plan.Stages[1].StageUUID, r.Plan.Stages[2].StageUUID}; got[0] != a || got[1] != c || got[2] != b {
		t.Errorf("plan = %v", got)
	}
	r.Plan.Current = 2
	r.InsertNext(a)
	if len(r.Plan.Stages) != 4 || r.Plan.Stages[3].StageUUID != a {
		t.Errorf("insert at the end: %+v", r.Plan.Stages)
	}
}
