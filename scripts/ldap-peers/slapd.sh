#!/usr/bin/env bash
# slapd.sh start|stop DIR — a throwaway OpenLDAP directory for the tests of
# providers/ldap, kept entirely in DIR (config, database, TLS cert, pid).
#
#   ldap://127.0.0.1:3389  (StartTLS offered)   ldaps://127.0.0.1:3636
#   base dc=example,dc=org; CA (self-signed cert) DIR/cert.pem
#   admin cn=admin,dc=example,dc=org / adminpw
#   service account cn=ssogate,ou=services,dc=example,dc=org / Service!Pass123
#
# Users (ou=people), password <Name>!Pass123 unless noted:
#   alice     Alice Example, alice@example.org, in sso-eng and sso-admins
#   yamada    山田 太郎, 株式会社サンプル / 開発部, in 開発チーム and sso-staff
#   sato(qa)  a uid that needs escaping in filters, in sso-eng
#   dup1..dup3 all mail dup@example.org (an ambiguous login)
#   nopw      no userPassword: every bind fails
# Groups (ou=groups, groupOfNames): sso-eng ⊂ sso-staff (nested, which
# groupOfNames searches do not follow), sso-admins, 開発チーム.
#
# The ports are fixed (outside the ephemeral range), so one instance runs
# per machine. stop kills the slapd whose pid is in DIR/slapd.pid, and only
# if it runs DIR's config, then waits for it to exit.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
D=$(mkdir -p "$2" && cd "$2" && pwd)
PATH=$PATH:/usr/sbin
LDAP_PORT=3389
LDAPS_PORT=3636
URL=ldap://127.0.0.1:$LDAP_PORT
BASE=dc=example,dc=org
ADMIN=cn=admin,$BASE

# ours reports whether pid $1 is a slapd started with DIR's config.
ours() {
  [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "slapd.* -f $D/slapd.conf"
}

stop() {
  [ -f "$D/slapd.pid" ] || { echo "slapd: not running in $D"; return 0; }
  local pid
  pid=$(cat "$D/slapd.pid")
  if ! ours "$pid"; then
    echo "slapd: pid $pid in $D/slapd.pid is not our slapd; not killing it"
    rm -f "$D/slapd.pid"
    return 0
  fi
  kill "$pid"
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "slapd: pid $pid still running after 10 s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$D/slapd.pid"
  echo "slapd: stopped pid $pid"
}

b64() { printf '%s' "$1" | base64 -w0; }

start() {
  if [ -f "$D/slapd.pid" ] && ours "$(cat "$D/slapd.pid")"; then
    echo "slapd: already running in $D (pid $(cat "$D/slapd.pid"))" >&2; exit 1
  fi
  for p in $LDAP_PORT $LDAPS_PORT; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "slapd: port $p is already in use (a slapd left over from a killed run? try: $0 stop DIR)" >&2
      exit 1
    fi
  done
  rm -rf "$D/db"
  mkdir -p "$D/db"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$D/key.pem" -out "$D/cert.pem" 2>/dev/null
  chmod 600 "$D/key.pem"
  cat >"$D/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload refint
pidfile $D/slapd.pid
argsfile $D/slapd.args
TLSCertificateFile $D/cert.pem
TLSCertificateKeyFile $D/key.pem
database mdb
maxsize 104857600
suffix "$BASE"
rootdn "$ADMIN"
rootpw $(slappasswd -s adminpw)
directory $D/db
index objectClass,uid,mail,member eq
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE
overlay refint
refint_attributes member
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
CONF
  slaptest -f "$D/slapd.conf" -u >/dev/null 2>&1 || { slaptest -f "$D/slapd.conf" -u; exit 1; }
  # slapd daemonizes and writes slapd.pid once it listens.
  slapd -f "$D/slapd.conf" -h "ldap://127.0.0.1:$LDAP_PORT/ ldaps://127.0.0.1:$LDAPS_PORT/"
  # Whatever fails from here on, do not leave slapd holding the ports.
  trap 'echo "slapd: start failed; stopping it" >&2; stop >&2' EXIT
  for _ in $(seq 100); do
    ldapsearch -x -H "$URL" -b "" -s base >/dev/null 2>&1 && break
    sleep 0.1
  done
  ldapsearch -x -H "$URL" -b "" -s base >/dev/null 2>&1 || { echo "slapd: not answering on $URL" >&2; exit 1; }

  # Users go in with ldapadd on the live server: the memberof overlay only
  # fills memberOf on live adds (slapadd would leave it empty).
  cat >"$D/data.ldif" <<LDIF
dn: $BASE
objectClass: dcObject
objectClass: organization
dc: example
o: Example Org

dn: ou=people,$BASE
objectClass: organizationalUnit
ou: people

dn: ou=groups,$BASE
objectClass: organizationalUnit
ou: groups

dn: ou=services,$BASE
objectClass: organizationalUnit
ou: services

dn: cn=ssogate,ou=services,$BASE
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: ssogate
userPassword: Service!Pass123

dn: uid=alice,ou=people,$BASE
objectClass: inetOrgPerson
uid: alice
cn: Alice Example
sn: Example
givenName: Alice
mail: alice@example.org
telephoneNumber: +81 3 1234 0001
mobile: +81 90 1234 0001
o: Example Org
ou: Engineering
userPassword: Alice!Pass123

dn: uid=yamada,ou=people,$BASE
objectClass: inetOrgPerson
uid: yamada
cn:: $(b64 '山田 太郎')
sn:: $(b64 '山田')
givenName:: $(b64 '太郎')
mail: yamada@example.org
telephoneNumber: 03-1234-5678
mobile: 090-1234-5678
o:: $(b64 '株式会社サンプル')
ou:: $(b64 '開発部')
userPassword: Yamada!Pass123

dn: uid=sato(qa),ou=people,$BASE
objectClass: inetOrgPerson
uid: sato(qa)
cn: Sato QA
sn: Sato
mail: sato@example.org
userPassword: Sato!Pass123

dn: uid=dup1,ou=people,$BASE
objectClass: inetOrgPerson
uid: dup1
cn: Dup One
sn: One
mail: dup@example.org
userPassword: Dup!Pass123

dn: uid=dup2,ou=people,$BASE
objectClass: inetOrgPerson
uid: dup2
cn: Dup Two
sn: Two
mail: dup@example.org
userPassword: Dup!Pass123

dn: uid=dup3,ou=people,$BASE
objectClass: inetOrgPerson
uid: dup3
cn: Dup Three
sn: Three
mail: dup@example.org
userPassword: Dup!Pass123

dn: uid=nopw,ou=people,$BASE
objectClass: inetOrgPerson
uid: nopw
cn: No Password
sn: Password
mail: nopw@example.org

dn: cn=sso-eng,ou=groups,$BASE
objectClass: groupOfNames
cn: sso-eng
member: uid=alice,ou=people,$BASE
member: uid=sato(qa),ou=people,$BASE

dn: cn=sso-staff,ou=groups,$BASE
objectClass: groupOfNames
cn: sso-staff
member: cn=sso-eng,ou=groups,$BASE
member: uid=yamada,ou=people,$BASE

dn: cn=sso-admins,ou=groups,$BASE
objectClass: groupOfNames
cn: sso-admins
member: uid=alice,ou=people,$BASE

dn:: $(b64 "cn=開発チーム,ou=groups,$BASE")
objectClass: groupOfNames
cn:: $(b64 '開発チーム')
member: uid=yamada,ou=people,$BASE
LDIF
  ldapadd -x -H "$URL" -D "$ADMIN" -w adminpw -f "$D/data.ldif" >"$D/ldapadd.out"
  trap - EXIT
  echo "slapd: started pid $(cat "$D/slapd.pid") on $URL and ldaps://127.0.0.1:$LDAPS_PORT (base $BASE, CA $D/cert.pem)"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
