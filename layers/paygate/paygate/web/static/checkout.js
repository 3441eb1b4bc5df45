// The payment page's only script (served from our origin; the CSP allows no other).
// Asks the session's status every two seconds until it is paid (then goes back to the merchant) or
// expired (then reloads the page). The provider's cashier form is submitted by the payer's click.
(function () {
  "use strict";
  var card = document.getElementById("checkout");
  if (!card) { return; }
  var statusUrl = card.getAttribute("data-status-url");
  if (!statusUrl || card.getAttribute("data-state") !== "open") { return; }
  var delay = 2000;
  function poll() {
    fetch(statusUrl, { headers: { "Accept": "application/json" }, credentials: "omit", cache: "no-store" })
      .then(function (response) {
        if (response.status === 429) { delay = Math.min(delay * 2, 30000); return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (state) {
        if (state && state.status === "complete" && state.return_to) { location.assign(state.return_to); return; }
        if (state && state.status !== "open") { location.reload(); return; }
        setTimeout(poll, delay);
      })
      .catch(function () { setTimeout(poll, delay); });
  }
  setTimeout(poll, delay);
})();
