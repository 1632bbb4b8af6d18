# See https://tech.davis-hansson.com/p/make/
SHELL := bash
.DELETE_ON_ERROR:
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := all
MAKEFLAGS += --warn-undefined-variables
MAKEFLAGS += --no-builtin-rules
MAKEFLAGS += --no-print-directory

# Tools are installed into .tmp/bin at pinned versions; the tests find them on PATH.
BIN := $(abspath .tmp/bin)
export PATH := $(BIN):$(PATH)
export GOBIN := $(BIN)

BUF_VERSION := v1.75.0
GOLANGCI_LINT_VERSION := v2.15.0
GRPCURL_VERSION := v1.9.4
GRPC_HEALTH_PROBE_VERSION := v0.4.62

# The hand-written code under testdata, which ./... does not reach.
TESTDATA_CODE := ./testdata/e2e/... ./testdata/echo/... ./testdata/demo/... ./testdata/testutil/... ./testdata/authtest/... ./testdata/clientonly/...

# bench/ is a module of its own, so that this one never depends on the
# frameworks it is compared with; ./... does not reach it either.
BENCH := cd bench &&

.PHONY: help
help: ## Describe useful make targets
	@grep -E '^[a-zA-Z_-]+:.*?## .*$$' $(MAKEFILE_LIST) | sort | awk 'BEGIN {FS = ":.*?## "}; {printf "%-18s %s\n", $$1, $$2}'

.PHONY: all
all: build test lint checkgenerate ## Build, test, lint and check that generated code is current

.PHONY: build
build: ## Build every package, and micro and protoc-gen-micro into .tmp/bin
	go build ./...
	cd testdata && go build ./...
	$(BENCH) go build ./...
	go build -o $(BIN)/ ./cmd/micro ./protoc-gen-micro

.PHONY: demo
demo: ## Lay out a service and a client with micro new, run the service, call it (unary and server stream), publish an event it handles and micro subscribe prints, call it over HTTP (REST and Connect through micro api), stop it
	go run ./testdata/demo

.PHONY: test
test: ## Run the tests with the race detector (tools in .tmp/bin are used when present)
	go test -race -cover ./...
	cd testdata && go test -race ./...
	$(BENCH) go test -race ./...

.PHONY: test-tools
test-tools: $(BIN)/buf $(BIN)/grpcurl $(BIN)/grpc-health-probe ## Install the programs the interoperability tests run
	@command -v protoc >/dev/null || echo "protoc is not installed: TestProtoc will skip (apt-get install -y protobuf-compiler)"
	@command -v etcd >/dev/null || echo "etcd is not installed: the etcd tests will skip (apt-get install -y etcd-server)"
	@command -v chromium >/dev/null || echo "chromium is not installed: the dashboard's browser tests will skip (apt-get install -y chromium)"

.PHONY: generate
generate: ## Regenerate every golden and generated file
	go test ./generator/bufgen -run '^TestOptionsGoCode$$' -update
	go test ./generator -run '^TestGolden$$' -update
	go test ./cmd/micro -run '^(TestScripts|TestGolden)$$' -update
	go test ./runtime/mcp -run '^TestSchemaGolden$$' -update
	$(BENCH) go run ./cmd/benchgen

.PHONY: checkgenerate
checkgenerate: generate ## Fail if generate changes anything
	@if [ -n "$$(git status --porcelain)" ]; then \
		echo "make generate changed files; commit the result:"; git status --porcelain; git --no-pager diff; exit 1; fi

.PHONY: lint
lint: $(BIN)/golangci-lint $(BIN)/buf ## Lint Go code and protos
	go vet ./...
	cd testdata && go vet ./...
	$(BENCH) go vet ./...
	golangci-lint run ./... $(TESTDATA_CODE)
	$(BENCH) golangci-lint run --config ../.golangci.yml ./...
	buf lint
	buf format -d --exit-code

.PHONY: lintfix
lintfix: $(BIN)/golangci-lint $(BIN)/buf ## Fix what the linters can fix by themselves
	golangci-lint run --fix ./... $(TESTDATA_CODE)
	$(BENCH) golangci-lint run --fix --config ../.golangci.yml ./...
	buf format -w

.PHONY: tidy
tidy: ## Fail if go mod tidy changes go.mod or go.sum, here or in bench/
	go mod tidy
	$(BENCH) go mod tidy
	@git diff --exit-code go.mod go.sum bench/go.mod bench/go.sum

.PHONY: bench
bench: bench-discovery bench-sync-config bench-events ## Compare micro with grpc-go, connect-go and go-micro, and rewrite bench/BENCHMARKS.md (BENCH_QUICK=1: a short run that writes nothing)
	$(BENCH) go run ./cmd/microbench

.PHONY: bench-events
bench-events: ## Measure events from publish to handled, 64 B and 16 KiB: micro on NATS JetStream and core NATS against nats.go (targets >= 0.8x, >= 0.9x), the local broker against go-micro's HTTP broker (>= 5x); rewrites the events block of bench/BENCHMARKS.md (BENCH_QUICK=1: a short run that writes nothing)
	$(BENCH) if [ -n "$${BENCH_QUICK:-}" ]; then go run ./cmd/eventbench; else go run ./cmd/eventbench -out .; fi

.PHONY: bench-discovery
bench-discovery: ## Measure lookups through discovery against fixed addresses, registries holding 1,000 services x 5 nodes, and micro new to a first call
	go test -run '^$$' -bench 'Discovery|Scale|NewToFirstCall' -benchtime 1x ./runtime/... ./cmd/micro

.PHONY: bench-sync-config
bench-sync-config: ## Measure lock+unlock round trips on etcd through runtime/sync against concurrency.Mutex (x-mutex, target >= 0.9) and a typed config Get during reloads (target < 100 ns/op)
	go test -run '^$$' -bench '^BenchmarkLockUnlock$$' -benchtime 3s ./runtime/sync/etcd
	go test -run '^$$' -bench '^BenchmarkGetDuringReload$$' -benchtime 1s ./runtime/config

.PHONY: ci-cold
ci-cold: ## Run .ci/run as CI does on a new machine: a fresh clone of HEAD, empty Go build and module caches, timed
	@dir=$$(mktemp -d); trap 'chmod -R u+w "$$dir"; rm -rf "$$dir"' EXIT; \
	git clone -q . "$$dir/main"; \
	if [ -d ../shared ]; then cp -r ../shared "$$dir/shared"; fi; \
	echo "ci-cold: .ci/run in $$dir/main with GOCACHE and GOMODCACHE under $$dir"; \
	start=$$SECONDS; \
	(cd "$$dir/main" && env GOCACHE="$$dir/gocache" GOMODCACHE="$$dir/gomodcache" GOFLAGS= CI=true bash .ci/run </dev/null); \
	echo "ci-cold: .ci/run passed in $$((SECONDS - start))s"

.PHONY: clean
clean: ## Remove built binaries and tools
	rm -rf .tmp

$(BIN)/buf:
	go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)

$(BIN)/golangci-lint:
	go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

$(BIN)/grpcurl:
	go install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)

$(BIN)/grpc-health-probe:
	go install github.com/grpc-ecosystem/grpc-health-probe@$(GRPC_HEALTH_PROBE_VERSION)
