// The pages' one script (no inline script: the Content-Security-Policy forbids it). On a result page that is still
// waiting, it asks the API to answer when grading is done (?wait=) and then puts the page's new <main> in place,
// without reloading. Without this script, the page's <noscript> refresh reloads it instead; nothing else needs it.
(function () {
  "use strict";

  function start() {
    var main = document.getElementById("main");
    if (!main || !main.dataset.wait) {
      return;
    }
    var api = main.dataset.wait;
    var box = main.querySelector(".waiting");
    var state = main.querySelector(".waiting .state");
    var note = main.querySelector(".with-script");
    if (note) {
      note.hidden = false;
    }
    var failures = 0;

    function say(key) {
      if (box && state && box.dataset[key]) {
        state.textContent = box.dataset[key];
      }
    }

    function swap() {
      say("ready");
      fetch(location.pathname + location.search, { headers: { Accept: "text/html" }, credentials: "same-origin" })
        .then(function (answer) { return answer.text(); })
        .then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html");
          var fresh = page.getElementById("main");
          if (!fresh) {
            return;
          }
          fresh = document.importNode(fresh, true);
          main.replaceWith(fresh);
          document.title = page.title;
          fresh.focus({ preventScroll: true }); // screen readers read the result that replaced the waiting note
          if (fresh.dataset.wait) {
            start();
          }
        });
    }

    function poll() {
      fetch(api + "?wait=20", { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (answer) { return answer.ok ? answer.json() : Promise.reject(answer.status); })
        .then(function (data) {
          failures = 0;
          if (data.status === "graded" || data.status === "failed") {
            swap();
            return;
          }
          say(data.status === "running" ? "running" : "queued");
          setTimeout(poll, 250);
        })
        .catch(function () {
          failures += 1; // the server restarts or the network hiccups: try again, less and less often
          setTimeout(poll, Math.min(15000, 1000 * failures));
        });
    }

    poll();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
