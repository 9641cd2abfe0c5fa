// Refreshes the dashboard's live part every minute without reloading the page: the
// same URL with fragment=1 answers the live part alone. No other script runs here.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var status = document.getElementById("live-status");
  if (!live) { return; }
  function say(text) { if (status) { status.textContent = text; } }
  function refresh() {
    // Someone reading with the keyboard inside the live part keeps their place.
    if (live.contains(document.activeElement) && document.activeElement !== live) {
      return Promise.resolve(false);
    }
    var url = new URL(window.location.href);
    url.searchParams.set("fragment", "1");
    return fetch(url.toString(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (res) {
        if (res.ok && res.headers.get("X-Groundswell-Fragment") === "1") {
          return res.text().then(function (html) {
            live.innerHTML = html;
            say("Updated at " + new Date().toLocaleTimeString() + ".");
            return true;
          });
        }
        // Signed out meanwhile (the sign-in page answered): show it.
        window.location.reload();
        return false;
      })
      .catch(function () {
        say("Could not refresh; trying again in a minute.");
        return false;
      });
  }
  window.groundswellRefresh = refresh;
  window.setInterval(refresh, 60000);
})();
