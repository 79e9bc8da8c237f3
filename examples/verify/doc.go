// Package verify holds examples, outside Go, of how a downstream service
// verifies the gateway's signed assertion (X-Ssogate-Assertion, an ES256
// JWT whose keys are published at <public_url>/.well-known/jwks.json):
// python/verify.py, node/verify.mjs and java/Verify.java. Its test runs
// each of them against a real gateway on 127.0.0.1, with a good token and
// with tokens every verifier must refuse.
package verify
