// bench annotate: keyboard shortcuts for the rating form. The form works without this script.
// 1-9 (0 for 10) rate the highlighted question, a / t / b choose A, a tie or B, Enter saves.
(function () {
  "use strict";
  var form = document.querySelector("form.answers");
  if (!form) { return; }
  var groups = Array.prototype.slice.call(form.querySelectorAll("fieldset.criterion"));
  var active = 0;
  function answered(group) { return group.querySelector("input:checked") !== null; }
  function activate(k) {
    active = k;
    groups.forEach(function (group, i) { group.classList.toggle("active", i === k); });
  }
  function nextOpen(from) {
    for (var i = 0; i < groups.length; i++) {
      var k = (from + i) % groups.length;
      if (!answered(groups[k])) { return k; }
    }
    return -1;
  }
  activate(Math.max(0, nextOpen(0)));
  groups.forEach(function (group, i) {
    group.addEventListener("change", function () {
      var k = nextOpen(i + 1);
      activate(k < 0 ? i : k);
    });
    group.addEventListener("focusin", function () { activate(i); });
  });
  var letters = { a: "A", b: "B", t: "tie" };
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var key = event.key.toLowerCase();
    var value = /^[1-9]$/.test(key) ? key : key === "0" ? "10" : letters[key];
    if (value && groups[active]) {
      var input = groups[active].querySelector('input[value="' + value + '"]');
      if (input) {
        input.checked = true;
        input.dispatchEvent(new Event("change", { bubbles: true }));
        event.preventDefault();
      }
    } else if (key === "enter") {
      var tag = event.target && event.target.tagName;
      if (tag === "A" || tag === "BUTTON") { return; }
      event.preventDefault();
      if (form.reportValidity()) {
        if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
      }
    }
  });
})();
