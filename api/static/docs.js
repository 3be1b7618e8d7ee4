// Render /openapi.json with the bundled Swagger UI, sending the token the reader pasted on every request.
(function () {
  "use strict";
  var form = document.getElementById("token-form");
  var input = document.getElementById("token");
  var error = document.getElementById("docs-error");

  function open(token) {
    error.textContent = "";
    fetch("/openapi.json", { headers: { Authorization: "Bearer " + token } }).then(function (response) {
      if (!response.ok) {
        throw new Error(response.status === 401 ? "That token is not valid." : "The API answered " + response.status + ".");
      }
      return response.json();
    }).then(function (spec) {
      sessionStorage.setItem("ledger-token", token);
      window.ui = SwaggerUIBundle({
        spec: spec,
        dom_id: "#swagger-ui",
        deepLinking: true,
        requestInterceptor: function (request) {
          request.headers.Authorization = "Bearer " + token;
          return request;
        }
      });
    }).catch(function (failure) {
      error.textContent = failure.message;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    open(input.value.trim());
  });
  var remembered = sessionStorage.getItem("ledger-token");
  if (remembered) {
    open(remembered);
  }
}());
