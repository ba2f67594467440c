// Progress bars that follow long work (imports, sends) without a reload: no framework, no build step.
// Each .progress[data-progress-url] polls a JSON endpoint answering {"fraction": 0..1, "label": "...", "done": bool}.
(function () {
  "use strict";
  function follow(box) {
    var url = box.getAttribute("data-progress-url");
    var bar = box.querySelector(".bar");
    var label = box.querySelector(".label");
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (answer) { return answer.ok ? answer.json() : Promise.reject(answer.status); })
        .then(function (state) {
          var percent = Math.max(0, Math.min(100, (state.fraction || 0) * 100));
          bar.style.width = percent.toFixed(1) + "%";
          bar.setAttribute("aria-valuenow", Math.round(percent));
          if (label && state.label) { label.textContent = state.label; }
          if (state.done) {
            box.setAttribute("data-done", "true");
            if (box.hasAttribute("data-reload-when-done")) { window.location.reload(); }
          } else {
            window.setTimeout(tick, 1000);
          }
        })
        .catch(function () { window.setTimeout(tick, 5000); });
    }
    tick();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".progress[data-progress-url]").forEach(follow);
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  });
})();
