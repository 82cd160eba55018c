# The README's commands. `make demo` and `make test` install the Debian
# packages the UI build needs first (scripts/install-deps.sh, idempotent).

GO ?= go
HEADLESS_BIN ?= bin/studio-worker-headless

.PHONY: deps demo test vet build build-headless bench

deps:
	./scripts/install-deps.sh

demo: deps
	$(GO) run . demo

test: deps vet
	$(GO) test -race -count=1 ./...
	CGO_ENABLED=0 $(GO) build -tags headless -o $(HEADLESS_BIN) .

vet:
	CGO_ENABLED=0 $(GO) vet -tags headless ./...
	$(GO) vet ./...

build: deps
	$(GO) build -o bin/studio-worker .

build-headless:
	CGO_ENABLED=0 $(GO) build -tags headless -o $(HEADLESS_BIN) .

# Benchmarks: job round trip and log pipeline (go test -bench), then a
# connected idle headless worker measured for 60 s.
bench: build-headless
	$(GO) test -run '^$$' -bench . -benchtime 2s ./worker/session/
	$(GO) run ./scripts/idlebench -bin $(HEADLESS_BIN) -seconds 60
