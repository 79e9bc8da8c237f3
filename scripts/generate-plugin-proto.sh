#!/bin/sh
# generate-plugin-proto.sh regenerates plugins/proto/*.pb.go from
# plugins/proto/provider.proto. The generated code is committed, so building
# ssogate never needs protoc; run this only after changing the .proto.
#
# Needs: protoc (Debian: apt-get install -y protobuf-compiler) and the two
# Go generators at the versions the committed code was made with.
set -eu
cd "$(dirname "$0")/.."

PROTOC_GEN_GO=v1.36.12
PROTOC_GEN_GO_GRPC=v1.5.1

command -v protoc >/dev/null || { echo "protoc missing: apt-get install -y protobuf-compiler" >&2; exit 1; }
GOBIN="$(go env GOPATH)/bin"
GOFLAGS= go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO"
GOFLAGS= go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC"

PATH="$GOBIN:$PATH" protoc \
	--proto_path=plugins/proto \
	--go_out=plugins/proto --go_opt=paths=source_relative \
	--go-grpc_out=plugins/proto --go-grpc_opt=paths=source_relative \
	plugins/proto/provider.proto
gofmt -l plugins/proto
