# The Go dispatcher for Pacifica. `make help` lists the targets.

GO        ?= go
BIN       ?= bin
PKGS      ?= ./...
# Tests that need PostgreSQL or RabbitMQ read these (defaults: the local services).
export TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export TEST_BROKER_URL   ?= amqp://guest:guest@127.0.0.1:5672/
FUZZTIME  ?= 10s
# make hostile runs every fuzz target for this long (keeps the whole run under ~5 minutes).
HOSTILE_FUZZTIME ?= 5s
BENCHTIME ?= 5s
BENCHSIZE ?= 1GiB
# make bench-store's job store size (10000000 for ten million).
STOREJOBS ?= 1000000
# The Go vulnerability database of make lint's govulncheck: a file:// URL for an offline copy
# (see the README's "Checking for known vulnerabilities").
GOVULNDB  ?= https://vuln.go.dev

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@if [ -t 1 ]; then c='\033[36m'; r='\033[0m'; else c=''; r=''; fi; \
	  awk -v c="$$c" -v r="$$r" 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_.-]+:.*## / {printf "  %s%-16s%s %s\n", c, $$1, r, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build the binaries into bin/ (dispatcher, pacifica-sim).
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

.PHONY: test
test: test-rules ## Run all tests with the race detector (needs the local PostgreSQL and RabbitMQ), and test-rules; ends with the skipped tests and why.
	$(GO) vet $(PKGS)
	$(GO) run ./cmd/internal/testsummary $(GO) test -json -race -count=1 -timeout 20m $(PKGS)

.PHONY: test-rules
test-rules: ## Check the Prometheus alert rules and run their unit tests with promtool (Debian package prometheus; required in CI).
	@if ! command -v promtool >/dev/null 2>&1; then \
	  case "$${CI:-}" in ""|0|false) echo "promtool is not installed: alert rules not checked (apt-get install prometheus)"; exit 0;; \
	  *) echo "promtool is not installed (apt-get install prometheus): CI checks the alert rules"; exit 1;; esac; \
	fi
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/alerts_test.yml

.PHONY: test-short
test-short: ## Run the tests in short mode (smaller sizes), without the race detector.
	$(GO) test -short -count=1 $(PKGS)

.PHONY: fmt
fmt: ## Format the code.
	gofmt -w $$(git ls-files '*.go')

.PHONY: lint
lint: ## gofmt check, go vet, golangci-lint (commented configuration in .golangci.yml) and govulncheck when they are installed.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@if command -v golangci-lint >/dev/null 2>&1; then golangci-lint run; \
	 else echo "golangci-lint is not installed: skipped (go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@latest)"; fi
	@vc=$$(command -v govulncheck || echo $$($(GO) env GOPATH)/bin/govulncheck); \
	 if [ -x "$$vc" ]; then echo "govulncheck -db $(GOVULNDB) ./..."; "$$vc" -db $(GOVULNDB) ./...; \
	 else echo "govulncheck is not installed: skipped (go install golang.org/x/vuln/cmd/govulncheck@latest)"; fi

# A target that ends with "context deadline exceeded" and wrote no failing input met Go's fuzz
# coordinator race at the -fuzztime deadline (go.dev/issue/75804, fixed in Go 1.27): it is
# reported, not counted as a failure. Any failing input fails the run.
.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 10s).
	@set -e; for pkg in $$($(GO) list ./pkg/...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; \
	    if ! out=$$($(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg 2>&1); then \
	      echo "$$out"; \
	      if echo "$$out" | grep -q 'context deadline exceeded' && ! echo "$$out" | grep -q 'Failing input written'; then \
	        echo "fuzz $$f: stopped by Go's fuzzing deadline race (go.dev/issue/75804), no failing input: not a failure"; \
	      else exit 1; fi; \
	    else echo "$$out" | tail -2; fi; \
	  done; \
	done

.PHONY: bench
bench: ## One table of load figures (~4 min on 2 CPUs): raw PostgreSQL/RabbitMQ, durable intake, the sandbox's cost, end-to-end jobs (sandboxed), small script jobs (alone and in bursts of 300), memory, 1 GiB transfers, a store of 1 million jobs.
	$(GO) run ./cmd/dispatcher-bench all -duration $(BENCHTIME) -concurrency 1,16,64 -jobs 40 -workers 2 -transfer-size $(BENCHSIZE) -store-jobs $(STOREJOBS)

.PHONY: hostile
hostile: ## The hostile-input catalogue and the evil children (with and without the sandbox), slow cases included, with their tables; then every fuzz target for HOSTILE_FUZZTIME (5s).
	@mkdir -p $(BIN)
	HOSTILE=all $(GO) test -count=1 -timeout 15m -run '^TestHostile(Children)?$$' -v ./pkg/service > $(BIN)/hostile.log 2>&1; \
	  rc=$$?; grep -a -E '^\s*--- (FAIL|SKIP)|hostile[a-z_]*_test.go:[0-9]+: ' $(BIN)/hostile.log | grep -av 'level=' || true; \
	  sed -n '/^hostile-input catalogue/,/^$$/p' $(BIN)/hostile.log; \
	  sed -n '/^evil children/,/^$$/p' $(BIN)/hostile.log; \
	  grep -a -E '^(ok|FAIL|--- FAIL)' $(BIN)/hostile.log; echo "full log: $(BIN)/hostile.log"; exit $$rc
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(HOSTILE_FUZZTIME)

.PHONY: bench-intake
bench-intake: ## Only the intake rows of make bench: raw INSERT, raw publish and durable intake at concurrency 16 and 64.
	$(GO) run ./cmd/dispatcher-bench intake -duration $(BENCHTIME) -concurrency 16,64

.PHONY: bench-cpu
bench-cpu: ## The receiver's CPU per event without the services: event.Parse, the document decoding, the data validation, routing (go test -bench, with allocations).
	$(GO) test -run '^$$' -bench 'Parse$$|ParseIngest|Document|DecodeSample|DecodeReference|Plan' -benchmem ./pkg/event ./pkg/jsonpath2 ./pkg/intake

.PHONY: bench-store
bench-store: ## Only the store rows of make bench: the status API, intake and claims on an empty store and on one of 1 million finished jobs (STOREJOBS).
	$(GO) run ./cmd/dispatcher-bench store -duration $(BENCHTIME) -store-jobs $(STOREJOBS)

.PHONY: bench-sandbox
bench-sandbox: ## Only the sandbox rows of make bench: a child's start-up without and with bubblewrap.
	$(GO) run ./cmd/dispatcher-bench sandbox -jobs 100

.PHONY: bench-abuse
bench-abuse: ## Only the abuse rows of make bench: the receiver's memory and a small event's latency under 8 × 16 MiB events at once and the pathological batch.
	$(GO) run ./cmd/dispatcher-bench abuse -rounds 3

.PHONY: bench-pipeline
bench-pipeline: ## Only the end-to-end rows of make bench, at 1, 2 and 4 workers: jobs/s, latency, peak memory.
	$(GO) run ./cmd/dispatcher-bench pipeline -jobs 40 -concurrency 1,2,4

.PHONY: bench-scripts
bench-scripts: ## Only the script-job rows of make bench: 20 jobs alone, then bursts of 300 at 2 and 8 workers (and one with SANDBOX=off), with the CPU per job of each process and a CPU profile of the receiver and the worker.
	$(GO) run ./cmd/dispatcher-bench scripts -jobs 300 -workers 2,8 -profile

# Flags of make chaos and make chaos-harsh, e.g. CHAOS_FLAGS="-events 500 -rate 10";
# CHAOS_RUNS=5 runs one after the other (one line each and a total at the end).
CHAOS_FLAGS ?=
CHAOS_RUNS  ?= 1

.PHONY: chaos
chaos: build ## Crash and fault run (~4-6 min) on its own PostgreSQL and RabbitMQ: restarts, SIGKILLs, SIGTERM drains, a subscription disabled by hand, Pacifica failing, under load.
	$(BIN)/dispatcher-chaos -dispatcher $(BIN)/dispatcher -runs $(CHAOS_RUNS) $(CHAOS_FLAGS)

.PHONY: chaos-harsh
chaos-harsh: build ## The harsh crash run (~7 min a run): PostgreSQL and RabbitMQ SIGKILLed, the network to PostgreSQL cut and partitioned with workers killed in it.
	$(BIN)/dispatcher-chaos -dispatcher $(BIN)/dispatcher -harsh -runs $(CHAOS_RUNS) $(CHAOS_FLAGS)

.PHONY: demo
demo: build ## Run the main job on the sample data, on this machine (see README).
	$(GO) run ./cmd/demo

.PHONY: clean
clean: ## Remove build output.
	rm -rf $(BIN) .demo
