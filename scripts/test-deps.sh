#!/usr/bin/env bash
# Installs the Debian packages the tests need, when they are missing.
# Idempotent and quiet when everything is already there.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# Japanese glyphs for screenshots of the pages.
[ -d /usr/share/fonts/opentype/noto ] || need+=(fonts-noto-cjk)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)   # cgo for mattn/go-sqlite3
# Fronting proxies for the forward-auth tests (cmd/ssogate/frontproxy_test.go);
# nginx lives in /usr/sbin, which is not on every user's PATH.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v caddy >/dev/null 2>&1 || need+=(caddy)
# examples/nginx clears header prefixes with the headers-more module.
[ -f /usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so ] || need+=(libnginx-mod-http-headers-more-filter)
# Real directories for providers/ldap (scripts/ldap-peers/): OpenLDAP and a
# Samba AD DC. Their daemons live in /usr/sbin.
command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ] || need+=(slapd)
command -v ldapadd >/dev/null 2>&1 || need+=(ldap-utils)
command -v samba >/dev/null 2>&1 || [ -x /usr/sbin/samba ] || need+=(samba samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# PostgreSQL 15 for store/postgres and `ssogate migrate` (internal/testpeers
# starts its own server from these binaries; no system cluster runs).
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15 postgresql-client-15)
# The assertion verifiers in examples/verify: Python (Debian's PyJWT, for
# /usr/bin/python3), Java (javac) and Node.js (npm ci below).
/usr/bin/python3 -c 'import jwt, cryptography' >/dev/null 2>&1 || need+=(python3 python3-jwt python3-cryptography)
command -v javac >/dev/null 2>&1 || need+=(default-jdk-headless)
# A real SMTP server for notify/ and `ssogate mail test` (internal/testpeers/smtpd.py).
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || need+=(python3-aiosmtpd)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
# Apache with mod_auth_mellon: a SAML service provider nobody here wrote, for
# the IdP's tests (internal/testpeers/mellon.go starts its own httpd).
[ -x /usr/sbin/apache2 ] || need+=(apache2)
[ -f /usr/lib/apache2/modules/mod_auth_mellon.so ] || need+=(libapache2-mod-auth-mellon)

# node_modules of the Node.js verifier, exactly as package-lock.json pins.
verify_node="$(cd "$(dirname "$0")/.." && pwd)/examples/verify/node"
npm_ci() {
  if [ ! -d "$verify_node/node_modules" ]; then
    echo "test-deps: npm ci in examples/verify/node"
    (cd "$verify_node" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# oauth2-proxy, an OpenID Connect relying party nobody here wrote, for the
# OP's tests (internal/testpeers/oauth2proxy.go). Built once from the Go
# module proxy into GOPATH/bin, outside the checkout; rebuilt only when the
# binary there is not this version.
oauth2_proxy_version=v7.15.6
oauth2_proxy() {
  local bin
  bin="$(go env GOPATH)/bin/oauth2-proxy"
  if [ -x "$bin" ] && go version -m "$bin" 2>/dev/null | grep -q "mod[[:space:]]*github.com/oauth2-proxy/oauth2-proxy/v7[[:space:]]*$oauth2_proxy_version"; then
    return
  fi
  echo "test-deps: go install oauth2-proxy $oauth2_proxy_version"
  GOBIN="$(go env GOPATH)/bin" go install "github.com/oauth2-proxy/oauth2-proxy/v7@$oauth2_proxy_version"
}

if [ ${#need[@]} -eq 0 ]; then
  npm_ci
  oauth2_proxy
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "test-deps: need root (or sudo) to install: ${need[*]}" >&2; exit 1
  fi
fi

# Never let a package start a system daemon (the tests start their own peers,
# nginx and caddy among them, on loopback ports). A system slapd would also
# hold port 389, which the test Samba AD DC needs.
if [ ! -x /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
fi

echo "test-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get -o DPkg::Lock::Timeout=600 update -q
$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${need[@]}"
npm_ci
oauth2_proxy
