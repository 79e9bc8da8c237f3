# ssogate — see README.md. The two commands that matter: `make run`, `make test`.

GO      ?= go
BIN     := bin/ssogate
CONFIG  ?= examples/ssogate.yaml
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

PLUGINS := httpjson

.PHONY: all build run test test-deps check vet fmt clean bench plugins proto

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ssogate
	$(GO) build -o bin/whoami ./examples/whoami
	$(GO) build -o bin/oidcapp ./examples/oidcapp
	$(GO) build -o bin/samlapp ./examples/samlapp
	@for p in $(PLUGINS); do $(GO) build -o plugins/bin/$$p ./plugins/examples/$$p || exit 1; done

## run: build, create the demo user if missing, start the demo app (whoami)
## and serve the demo config in front of it.
run: build
	CONFIG=$(CONFIG) ./scripts/run-demo.sh

## plugins: build the provider plugins into plugins/bin and print their sha256.
plugins:
	@for p in $(PLUGINS); do $(GO) build -o plugins/bin/$$p ./plugins/examples/$$p || exit 1; done
	@cd plugins/bin && sha256sum $(PLUGINS)

## proto: regenerate plugins/proto after editing provider.proto (needs protoc).
proto:
	./scripts/generate-plugin-proto.sh

## test: install what the tests need (Debian packages, Go modules) and run them all.
test: test-deps check
	SSOGATE_REQUIRE_BROWSER=1 $(GO) test -count=1 -timeout 15m ./...
	$(GO) test -count=1 -race -timeout 15m ./gateway/... ./store/... ./cmd/...

test-deps:
	./scripts/test-deps.sh
	$(GO) mod download

## bench: load-test the hot path on loopback (not part of make test).
bench:
	./scripts/bench-deps.sh
	$(GO) run ./bench

## check: formatting and vet.
check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin plugins/bin
