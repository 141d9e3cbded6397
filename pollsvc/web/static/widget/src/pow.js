// ---- pow.js: the proof of work a voter token costs (ALTCHA v2, PBKDF2/SHA-256, WebCrypto) ----
// The browser derives keys off the main thread: each attempt is an awaited WebCrypto call, so the
// page never freezes. A few attempts run at once (WebCrypto spreads them over the cores); any
// counter whose derived key starts with the challenge's hex prefix is a solution.
var LANES = 4;

function hexBytes(hex) {
  var out = new Uint8Array(hex.length / 2);
  for (var i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}
function bytesHex(bytes) {
  var s = "";
  for (var i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return s;
}

// Resolves to the base64 payload POST /voters takes; rejects when it cannot be solved here.
function solveChallenge(challenge) {
  var p = challenge && challenge.parameters, subtle = window.crypto && crypto.subtle;
  if (!p || !subtle || p.algorithm !== "PBKDF2/SHA-256") return Promise.reject(new Error("pow"));
  var nonce = hexBytes(p.nonce), salt = hexBytes(p.salt), prefix = p.keyPrefix.toLowerCase();
  var limit = Math.pow(16, prefix.length) * 30, next = 0, found = null;

  function attempt(counter) {
    var password = new Uint8Array(nonce.length + 4);
    password.set(nonce);
    new DataView(password.buffer).setUint32(nonce.length, counter); // big-endian, as ALTCHA's "uint32"
    return subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]).then(function (key) {
      return subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: salt, iterations: p.cost }, key,
        (p.keyLength || 32) * 8);
    }).then(function (bits) {
      var hex = bytesHex(new Uint8Array(bits));
      if (!found && hex.indexOf(prefix) === 0) found = { counter: counter, derivedKey: hex };
    });
  }
  function lane() {
    return found || next >= limit ? null : attempt(next++).then(lane);
  }
  var lanes = [];
  for (var i = 0; i < LANES; i++) lanes.push(lane());
  return Promise.all(lanes).then(function () {
    if (!found) throw new Error("pow");
    return btoa(JSON.stringify({ challenge: challenge, solution: found }));
  });
}
