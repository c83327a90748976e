// Referwell's only script besides htmx: no inline script anywhere (Content-Security-Policy).
// A read-only address field (a partner link, a calendar feed) selects itself when clicked.
document.addEventListener("click", function (event) {
  var field = event.target;
  if (field && field.matches && field.matches("input[data-select-on-click]")) {
    field.select();
  }
});
