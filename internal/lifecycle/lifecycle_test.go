package lifecycle

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-idp/gatehouse/internal/config"
)

func TestPostgresDSNQuotes(t *testing.T) {
	c := config.Default().PostgreSQL
	c.Host, c.User, c.Password, c.Name, c.SSLMode = "db.example", "o'brien", `pa ss\'word`, "gate house", "require"
	cc, err := pgx.ParseConfig(PostgresDSN(c))
	if err != nil {
		t.Fatal(err)
	}
	if cc.Host != "db.example" || cc.User != "o'brien" || cc.Password != `pa ss\'word` || cc.Database != "gate house" || cc.Port != 5432 {
		t.Errorf("parsed back: host %q user %q password %q db %q port %d", cc.Host, cc.User, cc.Password, cc.Database, cc.Port)
	}
}

func TestDisplayAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0.0.0.0:9000": "localhost:9000", "[::]:9000": "localhost:9000", ":9000": "localhost:9000",
		"127.0.0.1:41234": "localhost:41234", "idp.example:80": "idp.example:80",
	} {
		if got := displayAddr(in); got != want {
			t.Errorf("displayAddr(%q) = %q, want %q", in, got, want)
		}
	}
}
