// Checks the number field before the form goes to the server (which checks it again).
(function () {
  "use strict";
  var form = document.getElementById("member-form");
  if (!form) { return; }
  form.addEventListener("submit", function (e) {
    var action = e.submitter ? e.submitter.value : "save";
    var number = document.getElementById("number");
    if (action !== "remove" && number.value.trim() !== "" && !/^[+0-9 ().-]{3,40}$/.test(number.value.trim())) {
      e.preventDefault();
      number.setAttribute("aria-invalid", "true");
      alert("Please enter a phone number using digits, spaces and an optional leading +.");
    }
  });
})();
