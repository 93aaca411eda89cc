// Compose form: a directory result adds its address to the recipients (no inline script:
// the content security policy forbids it).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-add-address]");
  if (!button) { return; }
  var to = document.getElementById("to");
  if (!to) { return; }
  var address = button.getAttribute("data-add-address");
  var current = to.value.split(",").map(function (a) { return a.trim(); }).filter(Boolean);
  if (current.indexOf(address) === -1) { current.push(address); }
  to.value = current.join(", ");
});
