#!/usr/bin/env bash
# Starts the demo: one demo app per launcher tile behind the gateway on
# 127.0.0.1:8080 (examples/ssogate.yaml), with a demo user. Ctrl-C stops
# them all.
set -euo pipefail
cd "$(dirname "$0")/.."

config=${CONFIG:-examples/ssogate.yaml}
email=${DEMO_EMAIL:-demo@example.com}
password=${DEMO_PASSWORD:-Sakura-Passw0rd!}

# The demo apps, as service-id:port. Each is the whoami app (examples/whoami)
# expecting its own service id in the assertion; examples/ssogate.yaml
# routes http://127.0.0.1:8080/<id>/ to 127.0.0.1:<port>. A test
# (cmd/ssogate/demo_test.go) checks that every tile of the example leads
# to one of these.
demo_apps=(whoami:9001 wiki:9002 expenses:9003 attendance:9004)

printf '%s\n' "$password" | ./bin/ssogate --config "$config" user add \
  --email "$email" --name '山田 太郎' --groups staff --role admin \
  --organization '株式会社サンプル' --department '情報システム部' \
  --password-stdin --if-not-exists

pids=()
stop() {
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop EXIT INT TERM
for app in "${demo_apps[@]}"; do
  ./bin/whoami -listen "127.0.0.1:${app#*:}" -issuer http://127.0.0.1:8080 -audience "${app%%:*}" &
  pids+=($!)
done
# The apps outside the gateway, which sign in through it as their identity
# provider (the oidcapp and samlapp tiles of examples/ssogate.yaml).
./bin/oidcapp -listen 127.0.0.1:9005 -issuer http://127.0.0.1:8080 -client-id oidcapp &
pids+=($!)
./bin/samlapp -listen 127.0.0.1:9006 -idp-metadata http://127.0.0.1:8080/idp/saml/metadata -data data/samlapp &
pids+=($!)

cat <<TXT

  Open http://127.0.0.1:8080 and sign in:
    ${email}  /  ${password}
  Every tile opens a demo app that shows what the gateway hands that
  service; 受信ヘッダー確認 (whoami) is the one to start with. The OIDC
  and SAML app tiles open apps outside the gateway, signed in by OpenID
  Connect and by SAML.

TXT
./bin/ssogate --config "$config" serve
