# The README's commands. `make demo` and `make test` install the Debian
# packages the UI build needs first (scripts/install-deps.sh, idempotent).

GO ?= go
HEADLESS_BIN ?= bin/studio-worker-headless

.PHONY: deps demo test vet build build-headless bench bench-ui screenshots release

deps:
	./scripts/install-deps.sh

demo: deps
	$(GO) run . demo

# Unit and integration tests with -race, both builds, then the UI end to end:
# the real demo under Xvfb with a D-Bus session (tray menu, a job, a screenshot).
test: deps vet
	$(GO) test -race -count=1 ./...
	CGO_ENABLED=0 $(GO) build -tags headless -o $(HEADLESS_BIN) .
	$(GO) build -o bin/studio-worker .
	./scripts/ui-e2e.sh bin/studio-worker

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

# The UI app idle for 60 s, hidden and on Logs with 1000 lines (CPU %, RSS).
bench-ui: build
	./scripts/ui-bench.sh bin/studio-worker

# One PNG per window tab, for the README.
screenshots: build
	./scripts/ui-screenshots.sh bin/studio-worker docs/screenshots

# Release archives, checksums.txt and manifest.yaml in dist/ (see README).
release:
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=x.y.z" >&2; exit 2; }
	./scripts/release.sh $(VERSION)
