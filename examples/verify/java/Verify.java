// Verify ssogate's X-Ssogate-Assertion and print its claims as JSON.
//
//   javac Verify.java && java Verify JWKS_URL ISSUER AUDIENCE [TOKEN]   (TOKEN from stdin if absent)
//
//   JWKS_URL  the gateway's keys: <public_url>/.well-known/jwks.json
//   ISSUER    the gateway's public_url, exactly as configured (no trailing /)
//   AUDIENCE  this service's id in ssogate.yaml
//
// Exits 0 and prints the claims only when the token is signed by a key of
// the JWKS (found by kid) with ES256, and iss, aud, exp and iat hold.
// Java 17 standard library only; use 17.0.3 or later (CVE-2022-21449).
// A JOSE library (nimbus-jose-jwt, jose4j) does the same in a few lines.

import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public final class Verify {
    static final long LEEWAY = 30; // seconds of clock skew tolerated on exp and iat

    public static void main(String[] args) throws Exception {
        if (args.length != 3 && args.length != 4) {
            System.err.println("usage: java Verify JWKS_URL ISSUER AUDIENCE [TOKEN]");
            System.exit(2);
        }
        String token = args.length == 4 ? args[3]
                : new String(System.in.readAllBytes(), StandardCharsets.UTF_8).trim();
        try {
            System.out.println(verify(token, args[0], args[1], args[2]));
        } catch (Exception e) { // every failure is a refusal
            System.err.println("verify: refused: " + e);
            System.exit(1);
        }
    }

    /** Returns the token's payload (JSON) once signature and claims hold. */
    static String verify(String token, String jwksUrl, String issuer, String audience) throws Exception {
        String[] part = token.split("\\.", -1);
        if (part.length != 3) throw new GeneralSecurityException("not a compact JWS");
        Map<?, ?> header = (Map<?, ?>) Json.parse(utf8(part[0]));
        // Only ES256: never "none", never HS256 with the public key as secret.
        if (!"ES256".equals(header.get("alg"))) throw new GeneralSecurityException("alg is not ES256");
        Signature sig = Signature.getInstance("SHA256withECDSAinP1363Format");
        sig.initVerify(key(jwksUrl, header.get("kid")));
        sig.update((part[0] + "." + part[1]).getBytes(StandardCharsets.US_ASCII));
        byte[] rs = Base64.getUrlDecoder().decode(part[2]);
        if (rs.length != 64 || !sig.verify(rs)) throw new GeneralSecurityException("bad signature");

        String payload = utf8(part[1]);
        Map<?, ?> c = (Map<?, ?>) Json.parse(payload);
        Object aud = c.get("aud");
        double now = System.currentTimeMillis() / 1000.0;
        if (!issuer.equals(c.get("iss"))) throw new GeneralSecurityException("wrong iss");
        if (!(audience.equals(aud) || aud instanceof List<?> l && l.contains(audience)))
            throw new GeneralSecurityException("wrong aud");
        if (!(c.get("sub") instanceof String)) throw new GeneralSecurityException("no sub");
        if (!(c.get("exp") instanceof Number exp) || exp.doubleValue() + LEEWAY <= now)
            throw new GeneralSecurityException("expired");
        if (!(c.get("iat") instanceof Number iat) || iat.doubleValue() - LEEWAY > now)
            throw new GeneralSecurityException("iat missing or in the future");
        if (c.get("nbf") instanceof Number nbf && nbf.doubleValue() - LEEWAY > now)
            throw new GeneralSecurityException("not yet valid");
        return payload;
    }

    /** The P-256 key with id kid in the JWKS. A real service caches the set
     *  and refetches only when a token names a kid it has not seen. */
    static PublicKey key(String jwksUrl, Object kid) throws Exception {
        HttpResponse<String> resp = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(jwksUrl)).build(), HttpResponse.BodyHandlers.ofString());
        if (resp.statusCode() != 200) throw new GeneralSecurityException("JWKS: HTTP " + resp.statusCode());
        for (Object o : (List<?>) ((Map<?, ?>) Json.parse(resp.body())).get("keys")) {
            Map<?, ?> k = (Map<?, ?>) o;
            if (kid == null || !kid.equals(k.get("kid"))) continue;
            if (!"EC".equals(k.get("kty")) || !"P-256".equals(k.get("crv"))) break;
            AlgorithmParameters p = AlgorithmParameters.getInstance("EC");
            p.init(new ECGenParameterSpec("secp256r1"));
            ECPoint w = new ECPoint(new BigInteger(1, Base64.getUrlDecoder().decode((String) k.get("x"))),
                    new BigInteger(1, Base64.getUrlDecoder().decode((String) k.get("y"))));
            return KeyFactory.getInstance("EC").generatePublic(
                    new ECPublicKeySpec(w, p.getParameterSpec(ECParameterSpec.class)));
        }
        throw new GeneralSecurityException("no P-256 key with kid " + kid + " in the JWKS");
    }

    static String utf8(String b64url) {
        return new String(Base64.getUrlDecoder().decode(b64url), StandardCharsets.UTF_8);
    }

    /** A strict little JSON reader: objects, arrays, strings, numbers, literals. */
    static final class Json {
        private final String s;
        private int i;

        private Json(String s) { this.s = s; }

        static Object parse(String s) {
            Json j = new Json(s);
            Object v = j.value();
            j.ws();
            if (j.i != s.length()) throw new IllegalArgumentException("json: trailing data");
            return v;
        }

        private void ws() { while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) i++; }

        private char next() {
            if (i >= s.length()) throw new IllegalArgumentException("json: unexpected end");
            return s.charAt(i++);
        }

        private void expect(char c) {
            if (next() != c) throw new IllegalArgumentException("json: expected " + c + " at " + (i - 1));
        }

        private Object value() {
            ws();
            char c = next();
            i--;
            switch (c) {
                case '{': return object();
                case '[': return array();
                case '"': return string();
                case 't': return literal("true", Boolean.TRUE);
                case 'f': return literal("false", Boolean.FALSE);
                case 'n': return literal("null", null);
                default: return number();
            }
        }

        private Object literal(String word, Object v) {
            if (!s.startsWith(word, i)) throw new IllegalArgumentException("json: bad literal at " + i);
            i += word.length();
            return v;
        }

        private Map<String, Object> object() {
            expect('{');
            Map<String, Object> m = new LinkedHashMap<>();
            ws();
            if (s.startsWith("}", i)) { i++; return m; }
            for (;;) {
                ws();
                String k = string();
                ws();
                expect(':');
                // A duplicate claim name is ambiguous: refuse it (RFC 7519 §4).
                if (m.containsKey(k)) throw new IllegalArgumentException("json: duplicate key " + k);
                m.put(k, value());
                ws();
                char c = next();
                if (c == '}') return m;
                if (c != ',') throw new IllegalArgumentException("json: expected , or } at " + (i - 1));
            }
        }

        private List<Object> array() {
            expect('[');
            List<Object> a = new ArrayList<>();
            ws();
            if (s.startsWith("]", i)) { i++; return a; }
            for (;;) {
                a.add(value());
                ws();
                char c = next();
                if (c == ']') return a;
                if (c != ',') throw new IllegalArgumentException("json: expected , or ] at " + (i - 1));
            }
        }

        private String string() {
            expect('"');
            StringBuilder b = new StringBuilder();
            for (;;) {
                char c = next();
                if (c == '"') return b.toString();
                if (c < 0x20) throw new IllegalArgumentException("json: control character in string");
                if (c != '\\') { b.append(c); continue; }
                char e = next();
                switch (e) {
                    case '"': case '\\': case '/': b.append(e); break;
                    case 'b': b.append('\b'); break;
                    case 'f': b.append('\f'); break;
                    case 'n': b.append('\n'); break;
                    case 'r': b.append('\r'); break;
                    case 't': b.append('\t'); break;
                    case 'u': b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; break;
                    default: throw new IllegalArgumentException("json: bad escape \\" + e);
                }
            }
        }

        private Number number() {
            int start = i;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
            String t = s.substring(start, i);
            if (!t.matches("-?(0|[1-9]\\d*)(\\.\\d+)?([eE][+-]?\\d+)?"))
                throw new IllegalArgumentException("json: bad number at " + start);
            return t.matches("-?\\d+") ? (Number) Long.valueOf(t) : Double.valueOf(t);
        }
    }
}
