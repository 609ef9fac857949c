# Gatehouse. `make run` starts the embedded server; `make test` needs only Go.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
STATICCHECK_VERSION := v0.8.2
BIN       := bin/gatehouse

.PHONY: run build test test-race ci lint fmt-check vet staticcheck bench bench-go bench-startup clean

run:
	$(GO) run ./cmd/gatehouse server

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/gatehouse

# Unit, conformance (SQLite) and end-to-end tests. PostgreSQL and Redis tests
# run too when GATEHOUSE_TEST_POSTGRES_URL / GATEHOUSE_TEST_REDIS_URL are set.
test:
	$(GO) test ./...

test-race:
	$(GO) test -race -count=1 -timeout 15m ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	@command -v staticcheck >/dev/null 2>&1 || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck ./...

lint: fmt-check vet staticcheck

# What CI runs (.ci/run prepares the services first).
ci: lint test-race

bench: bench-go bench-startup

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/store/sqlstore/ ./internal/password/

bench-startup: build
	bench/foundation.sh $(BIN)

clean:
	rm -rf bin
