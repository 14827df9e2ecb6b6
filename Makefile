# gscluster. `make` lists the targets.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)
GO ?= go
BIN := bin/gscluster
STATE_DIR ?= $(if $(filter 0,$(shell id -u)),/var/lib/gscluster,$(HOME)/.local/state/gscluster)
SAMPLE_LAYERS ?= 200

.DEFAULT_GOAL := help
.PHONY: help setup build test test-short bench lint fuzz run clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

setup: ## install what is missing (Go, PostgreSQL, FUSE 3, JDK, test tools)
	@scripts/setup
	@$(GO) mod download

build: setup ## build bin/gscluster
	$(GO) build -o $(BIN) ./cmd/gscluster

test: setup ## the whole suite, as CI runs it (race detector on)
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt wants to change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) test -race -count=1 -timeout 14m ./...

test-short: ## the suite without the race detector, for a quick look
	$(GO) test -count=1 -timeout 14m ./...

bench: setup ## benchmarks and whole-system figures (see BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...
	$(GO) run ./integration/cmd/benchimport
	$(GO) run ./integration/cmd/benchmount

lint: ## gofmt, go vet, staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

fuzz: ## run each fuzz target for 30 s
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./internal/catalog

run: build ## start the embedded PostgreSQL, import a sample data directory, mount it (Ctrl-C unmounts)
	@./$(BIN) db start --state-dir $(STATE_DIR)
	@if [ ! -d $(STATE_DIR)/sample ]; then $(GO) run ./integration/cmd/gendatadir -layers $(SAMPLE_LAYERS) $(STATE_DIR)/sample; fi
	@./$(BIN) import $(STATE_DIR)/sample --state-dir $(STATE_DIR) --replace
	@echo
	@echo "The sample data directory $(STATE_DIR)/sample is in the embedded database. Try:"
	@echo "  $(BIN) catalog ls layers --state-dir $(STATE_DIR)"
	@echo "  $(BIN) catalog check --state-dir $(STATE_DIR)"
	@echo "  $(BIN) export /tmp/gs-export --state-dir $(STATE_DIR) && $(BIN) verify /tmp/gs-export --state-dir $(STATE_DIR)"
	@echo "  $(BIN) log -n 5 --state-dir $(STATE_DIR)"
	@echo "  $(BIN) db stop --state-dir $(STATE_DIR)"
	@echo
	@echo "Now mounting it at $(STATE_DIR)/mnt. Point GeoServer at it with"
	@echo "  GEOSERVER_DATA_DIR=$(STATE_DIR)/mnt   (add --allow-other when GeoServer runs as another user)"
	@echo "and try, in another shell: ls $(STATE_DIR)/mnt; cat $(STATE_DIR)/mnt/global.xml"
	@mkdir -p $(STATE_DIR)/mnt
	@./$(BIN) mount $(STATE_DIR)/mnt --state-dir $(STATE_DIR)

clean: ## remove what the build made
	rm -rf bin
