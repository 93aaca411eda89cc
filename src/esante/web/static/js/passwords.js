// The password test page: SHA-1 computed here (crypto.subtle), only the first 5 hex
// characters sent to the range route, suffixes compared here. The password and its full
// hash never leave the browser. The strength shown is a rough estimate (length and
// character classes), not the server's zxcvbn score.
(function () {
  "use strict";
  var form = document.getElementById("pw-test");
  if (!form) { return; }
  var input = document.getElementById("pw-candidate");
  var result = document.getElementById("pw-result");
  var minLength = parseInt(form.getAttribute("data-min-length") || "12", 10);

  function hex(buffer) {
    var bytes = new Uint8Array(buffer), out = "";
    for (var i = 0; i < bytes.length; i++) {
      out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    }
    return out.toUpperCase();
  }

  function breachCount(body, suffix) {
    var lines = body.split(/\r?\n/);
    for (var i = 0; i < lines.length; i++) {
      var parts = lines[i].split(":");
      if (parts.length === 2 && parts[0].toUpperCase() === suffix) {
        return parseInt(parts[1], 10) || 0; // a padding line has a count of 0
      }
    }
    return 0;
  }

  function estimate(pw) {
    var pool = 0;
    if (/[a-z]/.test(pw)) { pool += 26; }
    if (/[A-Z]/.test(pw)) { pool += 26; }
    if (/[0-9]/.test(pw)) { pool += 10; }
    if (/[^a-zA-Z0-9]/.test(pw)) { pool += 33; }
    var length = Array.from(pw).length;
    var bits = Math.round(length * Math.log2(Math.max(pool, 1)));
    var label = bits < 50 ? "très faible" : bits < 65 ? "faible" : bits < 80 ? "moyenne" : "forte";
    return { bits: bits, label: label, length: length };
  }

  function show(kind, title, lines) {
    result.textContent = "";
    var box = document.createElement("div");
    box.className = "fr-alert fr-alert--" + kind;
    box.id = "pw-verdict";
    var h = document.createElement("h2");
    h.className = "fr-alert__title";
    h.textContent = title;
    box.appendChild(h);
    lines.forEach(function (text) {
      var p = document.createElement("p");
      p.textContent = text;
      box.appendChild(p);
    });
    result.appendChild(box);
  }

  function strengthLine(pw) {
    var e = estimate(pw);
    var line = "Robustesse estimée (approximation selon la longueur et les types de caractères, " +
      "pas l'estimation zxcvbn de la plateforme) : " + e.label + " (environ " + e.bits + " bits).";
    if (e.length < minLength) {
      line += " Trop court pour la politique de la plateforme (" + minLength + " caractères au moins).";
    }
    return line;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var pw = input.value;
    if (!pw) {
      show("info", "Saisissez un mot de passe", []);
      return;
    }
    if (!window.crypto || !window.crypto.subtle) {
      show("error", "Test impossible", ["Ce navigateur ne permet pas le calcul SHA-1 sur cette " +
        "adresse (une connexion https est nécessaire)."]);
      return;
    }
    crypto.subtle.digest("SHA-1", new TextEncoder().encode(pw)).then(function (buffer) {
      var digest = hex(buffer);
      var prefix = digest.slice(0, 5), suffix = digest.slice(5);
      return fetch(form.getAttribute("data-range-url") + prefix, {
        credentials: "same-origin", headers: { "Accept": "text/plain" }, redirect: "error"
      }).then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      }).then(function (body) {
        var count = breachCount(body, suffix);
        if (count > 0) {
          show("error", "Mot de passe compromis", ["Ce mot de passe figure " + count.toLocaleString("fr-FR") +
            " fois dans les fuites de données connues de la plateforme : ne l'utilisez pas.", strengthLine(pw)]);
        } else {
          show("success", "Absent des fuites connues", ["Ce mot de passe ne figure pas dans les fuites " +
            "de données connues de la plateforme.", strengthLine(pw)]);
        }
      });
    }).catch(function () {
      show("error", "Test impossible", ["La plage n'a pas pu être obtenue (session expirée ?) : " +
        "rechargez la page et réessayez."]);
    });
  });

  document.getElementById("pw-show").addEventListener("change", function (event) {
    input.type = event.target.checked ? "text" : "password";
  });
}());
