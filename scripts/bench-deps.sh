#!/usr/bin/env bash
# Installs the Debian packages `make bench` needs, when they are missing:
# wrk, the HTTP load generator, a C compiler for building ssogate (cgo), and
# the PostgreSQL 15 server for the PostgreSQL-store target (the bench starts
# its own throwaway cluster; the package's own cluster is never started).
# Idempotent and quiet when everything is already there.
set -euo pipefail

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)   # cgo for mattn/go-sqlite3
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "bench-deps: need root (or sudo) to install: ${need[*]}" >&2; exit 1
  fi
fi

# Never let a package start a system daemon (the benchmark starts its own servers).
if [ ! -x /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
fi

echo "bench-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get -o DPkg::Lock::Timeout=600 update -q
$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${need[@]}"
