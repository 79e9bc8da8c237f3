#!/usr/bin/env bash
# Starts the demo: the whoami app on 127.0.0.1:9001 behind the gateway on
# 127.0.0.1:8080 (examples/ssogate.yaml), with a demo user. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

config=${CONFIG:-examples/ssogate.yaml}
email=${DEMO_EMAIL:-demo@example.com}
password=${DEMO_PASSWORD:-Sakura-Passw0rd!}

printf '%s\n' "$password" | ./bin/ssogate --config "$config" user add \
  --email "$email" --name '山田 太郎' --groups staff \
  --organization '株式会社サンプル' --department '情報システム部' \
  --password-stdin --if-not-exists

./bin/whoami -listen 127.0.0.1:9001 -issuer http://127.0.0.1:8080 -audience whoami &
whoami_pid=$!
trap 'kill $whoami_pid 2>/dev/null; wait $whoami_pid 2>/dev/null || true' EXIT INT TERM

cat <<TXT

  Open http://127.0.0.1:8080 and sign in:
    ${email}  /  ${password}
  The 受信ヘッダー確認 (whoami) tile shows what the gateway hands a service.

TXT
./bin/ssogate --config "$config" serve
