# Switchboard: the two commands a fresh machine needs are
#   make run    the whiteboard on http://localhost:3000 (one node, no Redis)
#   make test   everything: Go (race, vet, short fuzz), the Node compatibility
#               suites against the official clients, and the browser test
# .ci/run installs what a fresh machine lacks, then runs `make test`.

GO        ?= go
BIN       := bin
FUZZTIME  ?= 10s
# A suite that leaves a child process behind (after a failed start, say)
# must end, not hold make until CI's time limit: node --test exits once its
# tests are done.
NODE_TEST := node --test --test-force-exit
# Parsers fuzzed by `make fuzz` (package:target).
FUZZ_TARGETS := ./parser:FuzzDecode ./parser:FuzzArgs \
	./parser:FuzzDecodeMsgpack ./eio:FuzzDecodePayload ./eio:FuzzDecodeText ./engineio:FuzzReadMessage \
	./eio:FuzzDecodePayloadV3 ./eio:FuzzDecodeBinaryPayloadV3 ./engineio:FuzzJSONPPayload ./engineio:FuzzUpgradeHead \
	./internal/clusterwire:FuzzDecodeBroadcast ./internal/clusterwire:FuzzDecodeRequest \
	./internal/clusterwire:FuzzDecodeMessage ./internal/clusterwire:FuzzTranscode \
	./internal/clusterwire:FuzzDecodeStreamEntry ./internal/clusterwire:FuzzDecodeSession \
	./internal/realip:FuzzReadProxyHeader ./internal/realip:FuzzClient

.PHONY: run assets build build-nobundle image-binary test test-go vet fuzz test-compat test-python test-browser test-admin test-interop test-lb test-rolling test-recovery test-bench test-k8s bench-lb clean

run: assets
	$(GO) run ./cmd/switchboard serve

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

assets: node_modules
	npm run --silent build:whiteboard
	npm run --silent build:client
	npm run --silent build:admin

build: assets
	$(GO) build -o $(BIN)/switchboard ./cmd/switchboard
	$(GO) build -o $(BIN)/compat-goserver ./test/compat/goserver
	$(GO) build -o $(BIN)/echo ./examples/echo

# The binary of the container image, built as deploy/Dockerfile builds it.
VERSION ?= dev
image-binary: assets
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/switchboard-io/switchboard/internal/cli.Version=${VERSION}" -o $(BIN)/image/switchboard ./cmd/switchboard

test: vet test-go fuzz image-binary test-compat test-python test-browser test-admin test-interop test-lb test-rolling test-recovery test-bench test-k8s
	@echo "make test: all suites passed"

# staticcheck is pinned here and fetched from the module proxy by go run
# (it is a tool of ours, not a dependency of the module).
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) run ./internal/doccheck .
	# the peers' modules build with this one (a replace): their go.mod must follow its requirements
	$(GO) -C bench/peers/zishang list -m all > /dev/null
	$(GO) -C bench/peers/centrifugo list -m all > /dev/null

test-go: assets
	$(GO) test -race -count=1 ./...
	# engineio again with a goroutine per WebSocket, as without epoll
	SWITCHBOARD_TEST_NO_POLLER=1 $(GO) test -race -count=1 ./engineio/

fuzz:
	@FUZZTIME=$(FUZZTIME) GO=$(GO) bash test/fuzz.sh $(FUZZ_TARGETS)

test-compat: build
	COMPAT_SERVER='["$(CURDIR)/$(BIN)/compat-goserver"]' bash test/compat/run.sh
	COMPAT_SERVER='["$(CURDIR)/$(BIN)/compat-goserver"]' COMPAT_PARSER=msgpack bash test/compat/run.sh
	# WebSocket upgrades served by engineio.UpgradeListener, as switchboard serve does
	COMPAT_SERVER='["$(CURDIR)/$(BIN)/compat-goserver"]' COMPAT_DIRECT_WS=1 bash test/compat/run.sh
	COMPAT_SERVER='["$(CURDIR)/$(BIN)/compat-goserver"]' COMPAT_EIO3=1 COMPAT_SUITE=test/compat-v2/ bash test/compat/run.sh
	COMPAT_EIO3=1 COMPAT_SUITE=test/compat-v2/ bash test/compat/run.sh
	ECHO_BIN=$(CURDIR)/$(BIN)/echo $(NODE_TEST) test/echo/

# Debian's python3-socketio client, three transport modes, threading and
# asyncio, against the Go compat server and Node's reference server.
test-python: build
	bash test/python/run.sh

# The browser tests twice: against the binary with the bundle of make assets
# (the official socket.io-client), and the whiteboard tests against the one a
# plain go install gives (the page's sources, our own client).
test-browser: build build-nobundle
	WHITEBOARD_CLIENT=official bash test/browser/run.sh $(CURDIR)/$(BIN)/switchboard
	WHITEBOARD_CLIENT=own bash test/browser/run.sh $(CURDIR)/$(BIN)/switchboard-nobundle test/browser/whiteboard.test.mjs

# cmd/switchboard built as go install builds it from a fresh clone: no npm,
# no bundle (test/browser/build-nobundle.sh).
build-nobundle:
	GO=$(GO) bash test/browser/build-nobundle.sh $(BIN)/switchboard-nobundle

# @socket.io/admin-ui against 2 Switchboard nodes + redis-server and, with the
# same checks, against Node's instrument(); then the UI itself in Chromium.
test-admin: build
	SWITCHBOARD_BIN=$(CURDIR)/$(BIN)/switchboard $(NODE_TEST) test/admin/

# Go and Node nodes in one Redis cluster, and @socket.io/redis-emitter.
test-interop: build
	$(NODE_TEST) test/interop/

# 3 nodes + redis-server behind HAProxy (four modes), nginx and Traefik v3.6
# (built from its Go module once, cached under ~/.cache/switchboard-traefik),
# 200 clients each.
test-lb: build
	t=$$(bash test/lb/traefik-build.sh) && \
	SWITCHBOARD_BIN=$(CURDIR)/$(BIN)/switchboard TRAEFIK_BIN=$$t $(NODE_TEST) test/lb/

# Rolling restart of 3 nodes under a broadcast to 300 clients (SIGTERM drain).
test-rolling: build
	SWITCHBOARD_BIN=$(CURDIR)/$(BIN)/switchboard $(NODE_TEST) test/rolling/

# Connection state recovery across node deaths and Redis restarts (3 nodes,
# HAProxy, 300 clients, about 90 s), and with Node's streams adapter.
test-recovery: build
	SWITCHBOARD_BIN=$(CURDIR)/$(BIN)/switchboard $(NODE_TEST) test/recovery/

# The benchmark harness runs (a tiny smoke configuration; numbers are never
# asserted) for every server, the Go peers included (bench/peers/: built once,
# cached in ~/.cache/switchboard-bench/; the first, cold build of Centrifugo
# takes a few minutes). The full side-by-side run: bash bench/run.sh
# (docs/benchmarks.md).
test-bench: build
	$(GO) run ./bench/loadgen -smoke -scenarios S1,S2,S3,S4,S5,S6,WB -servers switchboard,node,zishang,centrifugo -switchboard $(BIN)/switchboard

# Load-balancing costs (connect rate, polling round trip); not part of make test.
bench-lb: build
	SWITCHBOARD_BIN=$(CURDIR)/$(BIN)/switchboard node test/lb/bench.mjs

# deploy/kubernetes and the Helm chart checked by a real kube-apiserver (deploy/kubernetes/verify/README.md).
test-k8s: build
	SWITCHBOARD_BIN=$(CURDIR)/$(BIN)/switchboard bash deploy/kubernetes/verify/run.sh

clean:
	rm -rf $(BIN)
	find internal/whiteboard/dist -type f ! -name .gitkeep -delete
	find internal/clientdist/dist -type f ! -name .gitkeep -delete
	find internal/admindist/dist -mindepth 1 ! -name .gitkeep -delete
