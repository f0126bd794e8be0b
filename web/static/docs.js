/* Swagger UI for /api/docs, started from a file (the CSP allows no inline script). Requests
   made with "Try it out" carry the session's CSRF token, like the pages' own. */
"use strict";

(function () {
  const el = document.getElementById("swagger-ui");
  if (!el || !window.SwaggerUIBundle) { return; }
  window.SwaggerUIBundle({
    url: el.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    requestInterceptor: function (req) {
      if (window.tingfeng && window.tingfeng.csrf) { req.headers["X-CSRF-Token"] = window.tingfeng.csrf; }
      return req;
    }
  });
})();
