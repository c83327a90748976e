// Referwell's only script besides htmx: no inline script anywhere (Content-Security-Policy).
// Every page works without it; it only makes some things quicker by hand.
(function () {
  "use strict";

  // A read-only address field (a partner link, a calendar feed) selects itself when clicked.
  document.addEventListener("click", function (event) {
    var field = event.target;
    if (field && field.matches && field.matches("input[data-select-on-click]")) {
      field.select();
    }
  });

  // --- Chips (core/widgets.py Chips): a search box narrows a long list of chips ------------
  // Without this script the chips are plain checkboxes and the search box stays hidden.

  // Lower case, accents off: "Physio" finds "physiothérapeute", "PHYS" finds "Physical".
  function fold(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function chipsOf(box) {
    var field = box.closest(".chips-field");
    return field ? Array.prototype.slice.call(field.querySelectorAll(".chip")) : [];
  }

  // Show the chips whose text holds every word typed; say how many are left.
  function narrow(box) {
    var words = fold(box.value).split(/\s+/).filter(Boolean);
    var chips = chipsOf(box);
    var shown = [];
    chips.forEach(function (chip) {
      var text = fold(chip.textContent);
      var match = words.every(function (word) { return text.indexOf(word) !== -1; });
      chip.hidden = !match;
      if (match) { shown.push(chip); }
    });
    var found = document.getElementById(box.id.replace(/_search$/, "_found"));
    if (found) {
      if (!words.length) {
        found.textContent = "";
      } else if (!shown.length) {
        found.textContent = "Nothing matches \u201c" + box.value.trim() + "\u201d.";
      } else {
        found.textContent = shown.length + " of " + chips.length + " shown.";
      }
    }
    return shown;
  }

  document.addEventListener("input", function (event) {
    var box = event.target;
    if (box && box.matches && box.matches("input.chips-filter")) {
      narrow(box);
    }
  });

  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (!(box && box.matches && box.matches("input.chips-filter"))) {
      return;
    }
    if (event.key === "Enter") {
      // Enter in the search box never sends the form; when one chip is left, it ticks it.
      event.preventDefault();
      var shown = narrow(box);
      if (shown.length === 1) {
        var checkbox = shown[0].querySelector("input[type=checkbox]");
        if (checkbox && !checkbox.checked && !checkbox.disabled) {
          checkbox.click();
        }
        box.value = "";
        narrow(box);
      }
    } else if (event.key === "Escape" && box.value) {
      event.preventDefault();
      box.value = "";
      narrow(box);
    }
  });

  // The search box exists only with this script: show it (on load, and in what htmx swaps in).
  function showSearch(root) {
    if (!root || !root.querySelectorAll) {
      return;
    }
    root.querySelectorAll(".chips-find[hidden]").forEach(function (find) {
      find.hidden = false;
    });
    // The browser may have kept a search typed before going back: apply it.
    root.querySelectorAll("input.chips-filter").forEach(function (box) {
      if (box.value) { narrow(box); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { showSearch(document); });
  } else {
    showSearch(document);
  }
  document.addEventListener("htmx:load", function (event) { showSearch(event.target); });
})();
