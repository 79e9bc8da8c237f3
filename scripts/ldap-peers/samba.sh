#!/usr/bin/env bash
# samba.sh start|stop DIR — a throwaway Samba AD DC for the tests of
# providers/ldap, provisioned into DIR (about 10 s) with its own TLS cert.
#
#   ldap://127.0.0.1:389 (StartTLS offered)   ldaps://127.0.0.1:636
#   realm EXAMPLE.TEST, base DC=example,DC=test; CA (self-signed) DIR/cert.pem
#   Administrator@example.test / Passw0rd!23
#   service account CN=ssogate,CN=Users,DC=example,DC=test / Service!Pass123
#
# Users (CN=<name>,CN=Users,...; UPN <name>@example.test), password
# <Name>!Pass123 (AD complexity: three of four classes, 7+ characters):
#   alice       Alice Example, mail alice.example@example.test (not the UPN), in
#               sso-eng (⊂ sso-staff) and sso-admins
#   bob         the victim of wrong-password tests (lockout threshold is 3)
#   yamada      displayName 山田 太郎 (CN "太郎 山田"), mail taro.yamada@example.test,
#               株式会社サンプル / 開発部,
#               telephoneNumber 03-1234-5678, mobile 090-1234-5678, in 開発チーム
#   disabled    samba-tool user disable                (AD bind: data 533)
#   locked      three wrong binds after lockout threshold 3   (data 775)
#   mustchange  --must-change-at-next-login            (data 773)
#   expired     accountExpires in 1970                 (data 701)
#   dup1..dup3  all mail dup@example.test (an ambiguous login)
#
# Samba has no port option: 389, 636, 88, 135, 139, 445, 464, 3268 and 3269
# on loopback are fixed, so one instance runs per machine. DNS is off.
# "ldap server require strong auth = no" lets the tests also bind on plain
# 389 (the explicitly insecure configuration); a real DC keeps the default.
# Samba's own generated cert has a negative serial that Go refuses, hence
# the openssl one.
#
# stop kills the samba whose pid is in DIR/samba.pid (the --foreground
# parent; its children exit with it), only if it runs DIR's config, then
# waits for it to exit.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
I=$(mkdir -p "$2" && cd "$2" && pwd)
PATH=$PATH:/usr/sbin
C=$I/etc/smb.conf
URL=ldap://127.0.0.1
BASE=DC=example,DC=test
ADMIN=Administrator@example.test
ADMINPW='Passw0rd!23'

# starttime prints the start time of pid $1 (clock ticks since boot).
starttime() {
  # Field 22; counted after "pid (comm) ", as comm may hold spaces.
  awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null
}

# ours reports whether pid $1 is the samba this script started in DIR:
# samba retitles its processes, so the executable and the start time
# recorded at launch identify it (a reused pid has another start time).
ours() {
  [ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$(readlink -f "$(command -v samba)")" ] &&
    [ -f "$I/samba.starttime" ] && [ "$(starttime "$1")" = "$(cat "$I/samba.starttime")" ]
}

stop() {
  [ -f "$I/samba.pid" ] || { echo "samba: not running in $I"; return 0; }
  local pid
  pid=$(cat "$I/samba.pid")
  if ! ours "$pid"; then
    echo "samba: pid $pid in $I/samba.pid is not our samba; not killing it"
    rm -f "$I/samba.pid" "$I/samba.starttime"
    return 0
  fi
  kill "$pid"
  for _ in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "samba: pid $pid still running after 15 s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$I/samba.pid" "$I/samba.starttime"
  echo "samba: stopped pid $pid"
}

b64() { printf '%s' "$1" | base64 -w0; }

# modify applies LDIF from stdin as Administrator over plain LDAP.
modify() {
  ldapmodify -x -H "$URL" -D "$ADMIN" -w "$ADMINPW" >>"$I/ldapmodify.out"
}

start() {
  if [ -f "$I/samba.pid" ] && ours "$(cat "$I/samba.pid")"; then
    echo "samba: already running in $I (pid $(cat "$I/samba.pid"))" >&2; exit 1
  fi
  for p in 389 636; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "samba: port $p is already in use (a samba left over from a killed run? try: $0 stop DIR; or a system slapd)" >&2
      exit 1
    fi
  done
  if [ -e "$I/private/sam.ldb" ]; then
    echo "samba: $I is already provisioned; start needs an empty DIR" >&2; exit 1
  fi
  mkdir -p "$I/run"
  local t0=$SECONDS
  samba-tool domain provision --targetdir="$I" --use-rfc2307 --realm=EXAMPLE.TEST --domain=EXAMPLE \
    --server-role=dc --dns-backend=SAMBA_INTERNAL --adminpass="$ADMINPW" \
    --host-name=dc1 --host-ip=127.0.0.1 --option="interfaces=lo" --option="bind interfaces only=yes" \
    >"$I/provision.out" 2>&1 || { tail -20 "$I/provision.out" >&2; exit 1; }
  sed -i '/^\[homes\]/,/^\[sysvol\]/{/^\[sysvol\]/!d}' "$C"
  sed -i "/dns forwarder/d; s#log file = .*#log file = $I/log.%m#" "$C"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=dc1.example.test \
    -addext "subjectAltName=DNS:dc1.example.test,DNS:localhost,IP:127.0.0.1" \
    -keyout "$I/key.pem" -out "$I/cert.pem" 2>/dev/null
  chmod 600 "$I/key.pem"
  sed -i "/^\[global\]/a\\	ldap server require strong auth = no\n\tpid directory = $I/run\n\tserver services = -dns\n\ttls enabled = yes\n\ttls keyfile = $I/key.pem\n\ttls certfile = $I/cert.pem\n\ttls cafile =" "$C"

  samba -s "$C" --foreground --no-process-group >"$I/samba.out" 2>&1 &
  echo $! >"$I/samba.pid"
  starttime $! >"$I/samba.starttime"
  # Whatever fails from here on, do not leave samba holding the ports.
  trap 'echo "samba: start failed; stopping it" >&2; stop >&2' EXIT
  for _ in $(seq 300); do
    ldapsearch -x -H "$URL" -b "" -s base defaultNamingContext >/dev/null 2>&1 && break
    kill -0 "$(cat "$I/samba.pid")" 2>/dev/null || { tail -20 "$I/samba.out" >&2; exit 1; }
    sleep 0.1
  done
  ldapsearch -x -H "$URL" -b "" -s base >/dev/null 2>&1 || { echo "samba: not answering on $URL" >&2; exit 1; }

  # samba-tool writes the local sam.ldb, which the running samba shares.
  local S=(-s "$C")
  {
    samba-tool domain passwordsettings set --account-lockout-threshold=3 "${S[@]}"
    samba-tool user create ssogate 'Service!Pass123' --use-username-as-cn "${S[@]}"
    samba-tool user create alice 'Alice!Pass123' --use-username-as-cn --given-name=Alice --surname=Example \
      --mail-address=alice.example@example.test --telephone-number='+81 3 1234 0001' \
      --company='Example Org' --department=Engineering "${S[@]}"
    samba-tool user create bob 'Bob!Pass123' --use-username-as-cn --mail-address=bob@example.test "${S[@]}"
    samba-tool user create yamada 'Yamada!Pass123' --given-name='太郎' --surname='山田' \
      --mail-address=taro.yamada@example.test --telephone-number=03-1234-5678 \
      --company='株式会社サンプル' --department='開発部' "${S[@]}"
    samba-tool user create disabled 'Disabled!Pass123' --use-username-as-cn "${S[@]}"
    samba-tool user disable disabled "${S[@]}"
    samba-tool user create locked 'Locked!Pass123' --use-username-as-cn "${S[@]}"
    samba-tool user create mustchange 'Mustchange!Pass123' --use-username-as-cn --must-change-at-next-login "${S[@]}"
    samba-tool user create expired 'Expired!Pass123' --use-username-as-cn "${S[@]}"
    samba-tool user create dup1 'Dup!Pass123' --use-username-as-cn --mail-address=dup@example.test "${S[@]}"
    samba-tool user create dup2 'Dup!Pass123' --use-username-as-cn --mail-address=dup@example.test "${S[@]}"
    samba-tool user create dup3 'Dup!Pass123' --use-username-as-cn --mail-address=dup@example.test "${S[@]}"
    samba-tool group add sso-eng "${S[@]}"
    samba-tool group add sso-staff "${S[@]}"
    samba-tool group add sso-admins "${S[@]}"
    samba-tool group add '開発チーム' "${S[@]}"
    samba-tool group addmembers sso-eng alice "${S[@]}"
    samba-tool group addmembers sso-staff sso-eng "${S[@]}"
    samba-tool group addmembers sso-admins alice "${S[@]}"
    samba-tool group addmembers '開発チーム' yamada "${S[@]}"
  } >"$I/users.out" 2>&1 || { tail -20 "$I/users.out" >&2; exit 1; }

  # What samba-tool has no flag for.
  modify <<LDIF
dn:: $(b64 "CN=太郎 山田,CN=Users,$BASE")
changetype: modify
replace: displayName
displayName:: $(b64 '山田 太郎')
-
replace: mobile
mobile: 090-1234-5678

dn: CN=alice,CN=Users,$BASE
changetype: modify
replace: mobile
mobile: +81 90 1234 0001
-
replace: displayName
displayName: Alice Example

dn: CN=expired,CN=Users,$BASE
changetype: modify
replace: accountExpires
accountExpires: 116444736000000000
LDIF

  # Lock "locked" out: as many wrong binds as the threshold.
  for _ in 1 2 3; do
    ldapsearch -x -H "$URL" -D locked@example.test -w 'Wrong!Pass000' -b "" -s base >/dev/null 2>&1 || true
  done

  trap - EXIT
  echo "samba: started pid $(cat "$I/samba.pid") on $URL and ldaps://127.0.0.1:636 (base $BASE, CA $I/cert.pem) in $((SECONDS - t0)) s"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
