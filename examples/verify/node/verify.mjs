#!/usr/bin/env node
// Verify ssogate's X-Ssogate-Assertion and print its claims as JSON.
//
//   node verify.mjs JWKS_URL ISSUER AUDIENCE [TOKEN]   (TOKEN from stdin if absent)
//
//   JWKS_URL  the gateway's keys: <public_url>/.well-known/jwks.json
//   ISSUER    the gateway's public_url, exactly as configured (no trailing /)
//   AUDIENCE  this service's id in ssogate.yaml
//
// Exits 0 and prints the claims only when the token is signed by a key of
// the JWKS (found by kid) with ES256, and iss, aud, exp and iat hold.
// Needs the npm package jose (npm ci in this directory).
import { createRemoteJWKSet, jwtVerify, errors } from 'jose';

const LEEWAY = 30; // seconds of clock skew tolerated on exp and iat

// A real service makes the key set once at start and keeps it: it caches
// the JWKS and refetches when a token names a kid it has not seen.
const keySets = new Map();

export async function verify(token, jwksUrl, issuer, audience) {
  if (!keySets.has(jwksUrl)) keySets.set(jwksUrl, createRemoteJWKSet(new URL(jwksUrl)));
  const { payload } = await jwtVerify(token, keySets.get(jwksUrl), {
    algorithms: ['ES256'], // never "none", never HS256 with a public key
    issuer,
    audience,
    clockTolerance: LEEWAY,
    requiredClaims: ['iss', 'aud', 'sub', 'exp', 'iat'],
  });
  if (payload.iat > Date.now() / 1000 + LEEWAY) {
    throw new errors.JWTClaimValidationFailed('iat is in the future', payload, 'iat', 'check_failed');
  }
  return payload;
}

async function readStdin() {
  let s = '';
  for await (const chunk of process.stdin) s += chunk;
  return s.trim();
}

async function main(args) {
  if (args.length !== 3 && args.length !== 4) {
    console.error('usage: verify.mjs JWKS_URL ISSUER AUDIENCE [TOKEN]');
    return 2;
  }
  const [jwksUrl, issuer, audience] = args;
  const token = args.length === 4 ? args[3] : await readStdin();
  try {
    const claims = await verify(token, jwksUrl, issuer, audience);
    console.log(JSON.stringify(claims));
    return 0;
  } catch (e) {
    console.error(`verify: refused: ${e.code ?? e.name}: ${e.message}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
