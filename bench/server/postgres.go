package server

import (
	"net/url"
	"strings"
)

// PostgresEnv is the environment that points gatehouse at the PostgreSQL
// database of a URL (postgres://user:password@host:port/name), with the
// secret key PostgreSQL deployments must set.
func PostgresEnv(pgURL string) ([]string, error) {
	u, err := url.Parse(pgURL)
	if err != nil {
		return nil, err
	}
	pw, _ := u.User.Password()
	sslmode := u.Query().Get("sslmode")
	if sslmode == "" {
		sslmode = "disable"
	}
	return []string{"GATEHOUSE_POSTGRESQL__HOST=" + u.Hostname(), "GATEHOUSE_POSTGRESQL__PORT=" + u.Port(),
		"GATEHOUSE_POSTGRESQL__USER=" + u.User.Username(), "GATEHOUSE_POSTGRESQL__PASSWORD=" + pw,
		"GATEHOUSE_POSTGRESQL__NAME=" + strings.TrimPrefix(u.Path, "/"), "GATEHOUSE_POSTGRESQL__SSLMODE=" + sslmode,
		"GATEHOUSE_SECRET_KEY=bench-secret-key-0123456789"}, nil
}
