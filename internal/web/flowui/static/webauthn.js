// Gatehouse flow UI: WebAuthn ceremonies (W3C Web Authentication Level 3).
//
// The page carries the server's options as JSON in a data-webauthn-options
// attribute of a form; this script converts the base64url fields to bytes,
// calls navigator.credentials.create() or .get(), encodes the resulting
// PublicKeyCredential as JSON (RegistrationResponseJSON /
// AuthenticationResponseJSON, §5.1) into the form's hidden field and submits
// the form. The server verifies everything; nothing here is trusted.
//
// Forms:
//   data-webauthn="create"      registration; starts on load and on its button
//   data-webauthn="get"         assertion; starts on its button
//   data-webauthn="passkey"     passkey login; its button starts a modal
//                               request, and when the browser supports it an
//                               autofill (conditional mediation) request runs
//                               from page load on the username field
"use strict";
(function () {
  function toBytes(s) {
    s = String(s).replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function descriptors(list) {
    return (list || []).map(function (d) {
      var out = { type: d.type, id: toBytes(d.id) };
      if (d.transports) out.transports = d.transports;
      return out;
    });
  }
  function creationOptions(o) {
    var pk = Object.assign({}, o);
    pk.challenge = toBytes(o.challenge);
    pk.user = Object.assign({}, o.user, { id: toBytes(o.user.id) });
    if (o.excludeCredentials) pk.excludeCredentials = descriptors(o.excludeCredentials);
    return pk;
  }
  function requestOptions(o) {
    var pk = Object.assign({}, o);
    pk.challenge = toBytes(o.challenge);
    if (o.allowCredentials) pk.allowCredentials = descriptors(o.allowCredentials);
    return pk;
  }
  function credentialJSON(cred) {
    var r = cred.response, out = {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64url(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      if (r.userHandle && r.userHandle.byteLength) out.response.userHandle = toB64url(r.userHandle);
    }
    return JSON.stringify(out);
  }
  function message(err) {
    switch (err && err.name) {
      case "NotAllowedError": return "The request was cancelled, timed out, or your security key did not verify you. Try again.";
      case "InvalidStateError": return "This security key is already registered.";
      case "SecurityError": return "Security keys cannot be used on this address.";
      case "NotSupportedError": return "Your security key does not support what this site asks for.";
      case "AbortError": return "";
    }
    return "Your browser could not use a security key: " + (err && err.message ? err.message : err);
  }
  function showError(form, err) {
    var text = message(err), box = form.querySelector("[data-webauthn-error]");
    if (box && text) { box.textContent = text; box.hidden = false; }
  }
  function options(form) {
    return JSON.parse(form.getAttribute("data-webauthn-options"));
  }
  function send(form, cred) {
    form.querySelector("input[data-webauthn-field]").value = credentialJSON(cred);
    form.submit();
  }
  function supported(form) {
    if (window.PublicKeyCredential && navigator.credentials) return true;
    showError(form, { message: "this browser has no WebAuthn support" });
    return false;
  }

  var pending = null; // the conditional request, aborted before a modal one

  function create(form) {
    if (!supported(form)) return;
    navigator.credentials.create({ publicKey: creationOptions(options(form)) })
      .then(function (cred) { send(form, cred); }, function (err) { showError(form, err); });
  }
  function get(form) {
    if (!supported(form)) return;
    if (pending) { pending.abort(); pending = null; }
    navigator.credentials.get({ publicKey: requestOptions(options(form)) })
      .then(function (cred) { send(form, cred); }, function (err) { showError(form, err); });
  }
  function conditional(form) {
    if (!window.PublicKeyCredential || !PublicKeyCredential.isConditionalMediationAvailable) return;
    // After a refused passkey the page says why; the autofill is not
    // offered again until the user asks (the button).
    if (form.querySelector("p.error:not([data-webauthn-error])")) return;
    PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
      if (!ok) return;
      pending = new AbortController();
      navigator.credentials.get({ publicKey: requestOptions(options(form)), mediation: "conditional", signal: pending.signal })
        .then(function (cred) { pending = null; send(form, cred); }, function (err) { if (err && err.name !== "AbortError") showError(form, err); });
    });
  }

  function init() {
    document.querySelectorAll("form[data-webauthn]").forEach(function (form) {
      var kind = form.getAttribute("data-webauthn");
      var start = kind === "create" ? create : get;
      form.addEventListener("submit", function (ev) {
        if (!form.querySelector("input[data-webauthn-field]").value) { ev.preventDefault(); start(form); }
      });
      if (kind === "create") create(form);
      if (kind === "passkey") conditional(form);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
