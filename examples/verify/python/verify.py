#!/usr/bin/python3
"""Verify ssogate's X-Ssogate-Assertion and print its claims as JSON.

    python3 verify.py JWKS_URL ISSUER AUDIENCE [TOKEN]   (TOKEN from stdin if absent)

    JWKS_URL  the gateway's keys: <public_url>/.well-known/jwks.json
    ISSUER    the gateway's public_url, exactly as configured (no trailing /)
    AUDIENCE  this service's id in ssogate.yaml

Exits 0 and prints the claims only when the token is signed by a key of
the JWKS (found by kid) with ES256, and iss, aud, exp and iat hold.
Needs PyJWT >= 2.4 with cryptography (Debian: python3-jwt python3-cryptography).
"""

import json
import sys
import time

import jwt

LEEWAY = 30  # seconds of clock skew tolerated on exp and iat

# A real service builds one client at start and keeps it: it caches the
# JWKS and refetches when a token names a kid it has not seen (a rotation).
_clients = {}


def verify(token, jwks_url, issuer, audience):
    client = _clients.setdefault(jwks_url, jwt.PyJWKClient(jwks_url))
    key = client.get_signing_key_from_jwt(token)  # by the header's kid
    claims = jwt.decode(
        token,
        key.key,
        algorithms=["ES256"],  # never "none", never HS256 with a public key
        issuer=issuer,
        audience=audience,
        leeway=LEEWAY,
        options={"require": ["iss", "aud", "sub", "exp", "iat"]},
    )
    if claims["iat"] > time.time() + LEEWAY:
        raise jwt.ImmatureSignatureError("iat is in the future")
    return claims


def main(argv):
    if len(argv) not in (4, 5):
        print("usage: verify.py JWKS_URL ISSUER AUDIENCE [TOKEN]", file=sys.stderr)
        return 2
    token = argv[4] if len(argv) == 5 else sys.stdin.read().strip()
    try:
        claims = verify(token, argv[1], argv[2], argv[3])
    except Exception as e:  # every failure is a refusal
        print(f"verify: refused: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(claims, ensure_ascii=False, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
