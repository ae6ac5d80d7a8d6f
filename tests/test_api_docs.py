"""/api/v1/docs: Swagger UI for the ingest API, public like the OpenAPI document, from our own static
files only (no CDN), under the same strict Content-Security-Policy as every page."""

from html.parser import HTMLParser

from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.test import Client
from django.urls import reverse


class _References(HTMLParser):
    """Every URL the page makes the browser load or link to."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        self.urls += [value for name, value in attrs.items() if name in {"src", "href", "data-openapi-url"} and value]


def _parse(html: str) -> _References:
    references = _References()
    references.feed(html)
    return references


def test_it_serves_the_api_docs_from_local_assets_only(client):
    response = client.get("/api/v1/docs")  # no sign-in needed
    assert response.status_code == 200
    page = _parse(response.content.decode())
    assert all(url.startswith("/") and not url.startswith("//") for url in page.urls), page.urls
    static_prefix = static("")
    for url in page.urls:
        if url.startswith(static_prefix):
            assert finders.find(url.removeprefix(static_prefix)), f"{url} is not one of our static files"
    for asset in ("ninja/swagger-ui-bundle.js", "ninja/swagger-ui.css", "js/api-docs.js"):
        assert static(asset) in page.urls
    assert [attrs.get("src") for tag, attrs in page.tags if tag == "script" and not attrs.get("src")] == []
    assert reverse("api-v1:openapi-json") == "/api/v1/openapi.json" and "/api/v1/openapi.json" in page.urls
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy


def test_it_links_the_docs_from_the_pages_footer(signed_in):
    anonymous = Client()
    for response in (anonymous.get(reverse("login")), signed_in.get(reverse("executions:list"))):
        assert response.status_code == 200
        footer = response.content.decode().split("<footer", 1)[1]
        assert 'href="/api/v1/docs"' in footer


def test_it_describes_bearer_tokens_so_the_docs_can_authorize(client):
    doc = client.get("/api/v1/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"} in schemes.values()
    assert all(op["security"] for path in doc["paths"].values() for op in path.values())
