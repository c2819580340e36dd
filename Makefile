GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: run build test test-short vet fmt bench clean

run: ## start Pivand on ./pivand-data (SQLite)
	$(GO) run ./cmd/pivand

build: ## a static binary in ./bin
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/pivand ./cmd/pivand

test: vet ## every test: SQLite always; PostgreSQL when PIVAND_TEST_POSTGRES_URL is set; the browser when Chromium is installed
	$(GO) test -count=1 -timeout 20m ./...

test-short:
	$(GO) test -short ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || (gofmt -l . ; echo "gofmt: files above need formatting"; exit 1)
	$(GO) vet ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
