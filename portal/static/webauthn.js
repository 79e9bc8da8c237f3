// webauthn.js runs a passkey ceremony for a form of the portal. The form
// carries the server's options as JSON in data-webauthn-options and the
// ceremony in data-webauthn ("create" to register a passkey, "get" to use
// one). On submit the browser is asked for the credential; the answer,
// as JSON with its binary fields base64url-encoded, goes into the form's
// hidden field marked data-webauthn-credential ("credential" at the
// passwordless sign-in, "code" at the second step) and the form is
// posted with its csrf_token and any other fields. The page allows this
// file and no other script.
"use strict";
(function () {
  function bytes(b64url) {
    var s = atob(b64url.replace(/-/g, "+").replace(/_/g, "/"));
    var out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out.buffer;
  }

  function b64url(buf) {
    if (!buf) return null;
    var a = new Uint8Array(buf), s = "";
    for (var i = 0; i < a.length; i++) s += String.fromCharCode(a[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      return { type: d.type, id: bytes(d.id), transports: d.transports };
    });
  }

  function creationOptions(o) {
    o.challenge = bytes(o.challenge);
    o.user.id = bytes(o.user.id);
    o.excludeCredentials = descriptors(o.excludeCredentials);
    return { publicKey: o };
  }

  function requestOptions(o) {
    o.challenge = bytes(o.challenge);
    o.allowCredentials = descriptors(o.allowCredentials);
    return { publicKey: o };
  }

  function encode(cred) {
    var r = cred.response, out = {
      id: cred.id,
      rawId: b64url(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: b64url(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = b64url(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = b64url(r.authenticatorData);
      out.response.signature = b64url(r.signature);
      out.response.userHandle = b64url(r.userHandle) || undefined;
    }
    return JSON.stringify(out);
  }

  function show(form, which) {
    var els = form.querySelectorAll("[data-webauthn-message]");
    for (var i = 0; i < els.length; i++) {
      els[i].hidden = els[i].getAttribute("data-webauthn-message") !== which;
    }
  }

  function start(form, ev) {
    var field = form.querySelector("input[data-webauthn-credential]");
    if (!field || field.value) return; // posted once already: let it go
    ev.preventDefault();
    if (!window.PublicKeyCredential || !navigator.credentials) {
      show(form, "unsupported");
      return;
    }
    var ceremony = form.getAttribute("data-webauthn");
    var options;
    try {
      options = JSON.parse(form.getAttribute("data-webauthn-options"));
    } catch (e) {
      show(form, "failed");
      return;
    }
    show(form, "waiting");
    var asked = ceremony === "create"
      ? navigator.credentials.create(creationOptions(options))
      : navigator.credentials.get(requestOptions(options));
    asked.then(function (cred) {
      field.value = encode(cred);
      form.submit();
    }, function (err) {
      var name = err && err.name;
      show(form, name === "NotAllowedError" ? "cancelled" : name === "InvalidStateError" ? "exists" : "failed");
    });
  }

  var forms = document.querySelectorAll("form[data-webauthn]");
  for (var i = 0; i < forms.length; i++) {
    (function (form) {
      form.addEventListener("submit", function (ev) { start(form, ev); });
    })(forms[i]);
  }
})();
