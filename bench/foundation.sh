#!/usr/bin/env bash
# Foundation figures (docs/benchmarks.md): start-to-ready and idle RSS of the
# built binary. Usage: bench/foundation.sh [binary] [runs]
# Set GATEHOUSE_TEST_POSTGRES_URL to an empty database to measure PostgreSQL mode too.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bin/gatehouse}
runs=${2:-20}
[ -x "$bin" ] || make build
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3)"
go run ./bench/startup -bin "$bin" -runs "$runs"
