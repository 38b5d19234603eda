# idres build, test and demo targets. See README.md.
GO      ?= go
BIN     := bin
PROTOS  := $(wildcard proto/idres/v1/*.proto)

.PHONY: all build run run-replicas test test-short conform proto bench bench-go lint fuzz soak clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# Starts a demo node on a fresh data directory; Ctrl-C stops it.
run: build
	./cmd/idresd/demo/run-demo.sh

# Two idresd replicas of one node on a three-member etcd cluster (Debian's
# etcd-server); Ctrl-C stops them all.
run-replicas: build
	./cmd/idresd/demo/run-replicas.sh

# The store's tests run a second time on an etcd cluster (Debian's
# etcd-server), so both storage backends pass the same suite.
test:
	$(GO) test -race -count=1 -timeout 15m ./...
	IDRES_STORE_BACKEND=etcd $(GO) test -race -count=1 -timeout 5m ./registry/store/

# The conformance suite against a throwaway loopback hierarchy of idresd
# processes (make test runs it too, as cmd/idres TestConformSpawn).
conform: build
	./$(BIN)/idres conform --spawn

# protoc comes from Debian's protobuf-compiler; the Go plugins are pinned as
# tools in go.mod, so everyone generates byte-identical code.
proto:
	protoc -I proto \
	  --plugin=protoc-gen-go=$$($(GO) tool -n protoc-gen-go) \
	  --plugin=protoc-gen-go-grpc=$$($(GO) tool -n protoc-gen-go-grpc) \
	  --go_out=proto --go_opt=paths=source_relative \
	  --go-grpc_out=proto --go-grpc_opt=paths=source_relative \
	  $(PROTOS)

# Side by side with reference servers (bare grpc-go, raw bbolt, CoreDNS);
# writes cmd/idres-bench-ref/results/results.md and cmd/idres-bench-ref/results/results.svg. N identifiers, RUNS runs of
# DURATION each (see cmd/idres-bench-ref/bench.sh). bench-go runs the Go benchmarks.
N        ?= 1000000
RUNS     ?= 3
DURATION ?= 10s
bench:
	N=$(N) RUNS=$(RUNS) DURATION=$(DURATION) GO=$(GO) ./cmd/idres-bench-ref/bench.sh

bench-go: build
	$(GO) test -run '^$$' -bench . -benchmem ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Runs every fuzz target of every package for FUZZTIME each (make test runs
# their seed corpora). A crasher stops the run and stays in testdata/fuzz.
FUZZTIME ?= 30s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== fuzz $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

# Soak: SOAK of mixed load on a small hierarchy whose leaf is SIGKILLed and
# restarted every few seconds, then SOAK_ROUNDS crash rounds, then
# SOAK_ABUSE of issue 19's abuse patterns against a root, a leaf and a
# recursive node while ordinary clients resolve (TestSoakAbuse); the reports
# go to SOAK_REPORT, which is printed even when the abuse soak fails.
SOAK ?= 10m
SOAK_ROUNDS ?= 100
SOAK_ABUSE ?= 2m
SOAK_REPORT ?= soak-report.txt
soak:
	IDRES_SOAK=$(SOAK) IDRES_SOAK_REPORT=$(abspath $(SOAK_REPORT)) $(GO) test -count=1 -timeout 0 -run '^TestSoak$$' -v ./cmd/idresd
	IDRES_CRASH_ROUNDS=$(SOAK_ROUNDS) $(GO) test -count=1 -timeout 60m -run 'TestCrash' -v ./cmd/idresd
	IDRES_SOAK_ABUSE=$(SOAK_ABUSE) IDRES_SOAK_REPORT=$(abspath $(SOAK_REPORT)) $(GO) test -count=1 -timeout 30m -run '^TestSoakAbuse$$' -v ./cmd/idresd \
	  || { cat $(SOAK_REPORT); exit 1; }
	@cat $(SOAK_REPORT)

clean:
	rm -rf $(BIN)
