// The API docs page (templates/api_docs.html): Swagger UI rendering the ingest API's OpenAPI document.
// A file, not an inline script, so it runs under the pages' CSP (script-src 'self'). Swagger UI sets
// its few element styles through the DOM (React style props), which style-src does not govern, so the
// page needs no CSP exception (tests/browser/test_api_docs_browser.py fails on any refused style).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    domNode: root,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    // No "valid" badge: it would be an image loaded from swagger.io.
    validatorUrl: null,
    // A pasted token lives only as long as the page (not in localStorage).
    persistAuthorization: false,
  });
})();
