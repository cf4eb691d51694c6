# Switchboard: the two commands a fresh machine needs are
#   make run    the whiteboard on http://localhost:3000 (one node, no Redis)
#   make test   everything: Go (race, vet, short fuzz), the Node compatibility
#               suites against the official clients, and the browser test
# .ci/run installs what a fresh machine lacks, then runs `make test`.

GO        ?= go
BIN       := bin
FUZZTIME  ?= 10s
# Parsers fuzzed by `make fuzz` (package:target).
FUZZ_TARGETS := ./parser:FuzzDecode ./parser:FuzzArgs

.PHONY: run assets build test test-go vet fuzz test-compat test-browser clean

run: assets
	$(GO) run ./cmd/switchboard serve

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

assets: node_modules
	npm run --silent build:whiteboard

build: assets
	$(GO) build -o $(BIN)/switchboard ./cmd/switchboard
	$(GO) build -o $(BIN)/compat-goserver ./test/compat/goserver

test: vet test-go fuzz test-compat test-browser
	@echo "make test: all suites passed"

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

test-go: assets
	$(GO) test -race -count=1 ./...

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	done

test-compat: build
	COMPAT_SERVER='["$(CURDIR)/$(BIN)/compat-goserver"]' bash test/compat/run.sh

test-browser: build
	bash test/browser/run.sh $(CURDIR)/$(BIN)/switchboard

clean:
	rm -rf $(BIN) internal/whiteboard/dist/*.js internal/whiteboard/dist/*.css internal/whiteboard/dist/*.html
