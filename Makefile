# carehub — see README.md. `make run` and `make test` are all a newcomer needs.
GO            ?= go
BIN           := bin/carehub
TOOLS         := $(CURDIR)/.tools
GOLANGCI_LINT := $(TOOLS)/golangci-lint
GOLANGCI_VER  := v2.15.0
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

# `make run` starts the embedded NATS on 4223: machines of this kind already
# run a system NATS on 4222. Override with `make run RUN_NATS_LISTEN=...`.
RUN_NATS_LISTEN ?= 127.0.0.1:4223
RUN_HTTP_ADDR   ?= 127.0.0.1:8080
RUN_MLLP_ADDR   ?= 127.0.0.1:2575
RUN_DIRECTORY   ?= deploy/directory.example.yaml

.PHONY: all build run test test-short lint bench profile fuzz fmt tools postgres clean soak

# Each fuzz target runs this long under `make fuzz`.
FUZZTIME ?= 30s

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/carehub

## run: build and start the hub with embedded NATS and the local PostgreSQL.
run: build postgres
	@echo "carehub: HTTP on http://$(RUN_HTTP_ADDR), MLLP on $(RUN_MLLP_ADDR), embedded NATS on nats://$(RUN_NATS_LISTEN)"
	$(BIN) serve --http-addr $(RUN_HTTP_ADDR) --mllp-addr $(RUN_MLLP_ADDR) --nats-listen $(RUN_NATS_LISTEN) --directory $(RUN_DIRECTORY)

# The soak measures a whole simulated region; under the race detector it
# would take several times as long, so it runs without it.
SOAK_TEST := ^TestSoakSimulatedRegion$$

## test: every test, against the embedded NATS and the local PostgreSQL,
## under the race detector (the soak test without it; test/bench is a load
## generator, not tests).
test: postgres
	$(GO) test -race -count=1 -skip '$(SOAK_TEST)' $$($(GO) list ./... | grep -v '/test/bench$$')
	$(GO) test -count=1 -run '$(SOAK_TEST)' ./test

## lint: gofmt, a tidy go.mod, go vet and golangci-lint.
lint: tools
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@if ! diff=$$($(GO) mod tidy -diff 2>&1); then echo "go.mod or go.sum is not tidy; run 'go mod tidy'. It would change:"; echo "$$diff"; exit 1; fi
	$(GO) vet ./...
	$(GOLANGCI_LINT) run ./...

## bench: throughput and latency of the ingest and end-to-end paths.
bench: build postgres
	$(GO) run ./test/bench

## profile: CPU and allocation profiles of the ingest and end-to-end paths
## (quick bench), written to bench/profiles/ and summarised.
profile: build postgres
	BENCH_QUICK=1 BENCH_PROFILE_DIR=bench/profiles $(GO) run ./test/bench
	@for p in bench/profiles/*.cpu.pprof; do echo "== $$p"; $(GO) tool pprof -top -nodecount=15 $$p 2>/dev/null | tail -16; done

## fuzz: the HL7 parser, MLLP framing, FHIR ingest and home-care ingest fuzz targets, FUZZTIME each.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./adapters/hl7v2/hl7/
	$(GO) test -run '^$$' -fuzz '^FuzzFrame$$' -fuzztime $(FUZZTIME) ./adapters/hl7v2/mllp/
	$(GO) test -run '^$$' -fuzz '^FuzzFHIRIngest$$' -fuzztime $(FUZZTIME) ./adapters/fhirrest/
	$(GO) test -run '^$$' -fuzz '^FuzzHomecareIngest$$' -fuzztime $(FUZZTIME) ./adapters/homecare/

fmt:
	gofmt -w $$(git ls-files '*.go')

tools: $(GOLANGCI_LINT)

$(GOLANGCI_LINT):
	GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VER)

postgres:
	@scripts/ensure-postgres.sh

clean:
	rm -rf bin data

## soak: a simulated year of Region Jönköpings län against `carehub serve`,
## verified against the simulator's ground truth; prints elapsed time and
## the hub's peak RSS. SOAK_DAYS, SOAK_SCALE, SOAK_SEED, SOAK_REGION.
soak: build postgres
	scripts/soak.sh
