// The admin's one small script, no framework, no build step: progress bars that follow long work (imports, sends)
// without a reload (each .progress[data-progress-url] polls {"fraction": 0..1, "label": "...", "done": bool}),
// "Are you sure?" on forms with data-confirm, fields required while a box is ticked, and table boxes that scroll
// made reachable by keyboard.
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
          if (state.label) {
            bar.setAttribute("aria-valuetext", state.label);
            if (label) { label.textContent = state.label; }
          }
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
  // A table box that scrolls sideways (a phone, a wide table) is a named region the keyboard can focus and scroll.
  function scrollRegions() {
    document.querySelectorAll(".scroll").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        var heading = box.previousElementSibling;
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", ((heading && /^H[1-6]$/.test(heading.tagName) ? heading.textContent.trim() + ": " : "")
          + "table, scrolls sideways"));
      } else if (box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }
  window.addEventListener("resize", scrollRegions);
  document.addEventListener("DOMContentLoaded", function () {
    scrollRegions();
    document.querySelectorAll(".progress[data-progress-url]").forEach(follow);
    // A field required only while a box is ticked (a pre-confirmed import's reason): checked before the form is
    // sent, so a mistake costs nothing (a browser cannot give back a chosen file after a round trip).
    document.querySelectorAll("[data-required-with]").forEach(function (field) {
      var box = field.form.elements[field.getAttribute("data-required-with")];
      function check() {
        var missing = box.checked && !field.value.trim();
        field.required = box.checked;
        field.setCustomValidity(missing ? field.getAttribute("data-required-message") : "");
      }
      box.addEventListener("change", check);
      field.addEventListener("input", check);
      check();
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  });
})();
