# ssogate — see README.md. The two commands that matter: `make run`, `make test`.

GO      ?= go
BIN     := bin/ssogate
CONFIG  ?= examples/ssogate.yaml
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

# The demo account `make run` creates (a demo, not a secret).
DEMO_EMAIL    := demo@example.com
DEMO_PASSWORD := Sakura-Passw0rd!

.PHONY: all build run test test-deps check vet fmt clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ssogate

## run: build, create the demo user if missing, and serve the demo config.
run: build
	@printf '%s\n' '$(DEMO_PASSWORD)' | ./$(BIN) --config $(CONFIG) user add \
		--email $(DEMO_EMAIL) --name '山田 太郎' --groups staff \
		--organization '株式会社サンプル' --department '情報システム部' \
		--password-stdin --if-not-exists
	@echo
	@echo "  Demo login:  $(DEMO_EMAIL)  /  $(DEMO_PASSWORD)"
	@echo
	./$(BIN) --config $(CONFIG) serve

## test: install what the tests need (Debian packages, Go modules) and run them all.
test: test-deps check
	SSOGATE_REQUIRE_BROWSER=1 $(GO) test -count=1 -timeout 15m ./...
	$(GO) test -count=1 -race -timeout 15m ./gateway/... ./store/... ./cmd/...

test-deps:
	./scripts/test-deps.sh
	$(GO) mod download

## check: formatting and vet.
check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
