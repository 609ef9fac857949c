//go:build benchhash

package password

// BenchHash is true in a benchmark build (go build -tags benchhash): new
// hashes use BenchParams, so that a load test of the binary measures the CPU
// spent around the hash (issue 4's "CPU per login outside the password
// hash", go run ./bench/login -benchhash). Such a build must never serve
// real users; the binary logs a warning at start. Stored hashes keep
// verifying with their own encoded parameters.
const BenchHash = true

func init() { DefaultParams = BenchParams }
