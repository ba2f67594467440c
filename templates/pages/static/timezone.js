// Progressive enhancement: put the browser's time zone into the subscribe form's hidden field.
// Without script the field stays empty and the list's own zone is used; readers can change it in preferences.
(function () {
  "use strict";
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  var fields = document.querySelectorAll("input[data-browser-timezone]");
  for (var i = 0; i < fields.length; i++) {
    if (zone && !fields[i].value) { fields[i].value = zone; }
  }
})();
