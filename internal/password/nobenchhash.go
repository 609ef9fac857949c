//go:build !benchhash

package password

// BenchHash is true only in a benchmark build (go build -tags benchhash),
// whose new hashes are deliberately cheap (benchhash.go).
const BenchHash = false
