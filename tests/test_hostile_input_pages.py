"""Hostile input on the pages: XSS payloads stored in every text field are shown as harmless text
everywhere, and filter/search values carrying Cypher or HTML are only ever parameters."""

from html.parser import HTMLParser

import pytest

from tests.support.graph import cypher

T0 = 1_763_000_000_000

# A corpus of classic payloads; each must never reach a page as live markup.
XSS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1">',
    "<svg/onload=window.__xss=1>",
    '"><iframe src="javascript:window.__xss=1"></iframe>',
    "<a href=\"javascript:window.__xss=1\">click</a>",
    "<body onload=window.__xss=1>",
    "';window.__xss=1;//",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=1>",
]


class _LiveMarkup(HTMLParser):
    """Collects markup that a browser would act on: inline scripts, event handler attributes,
    javascript: URLs, frames. Text and attribute values stay text, as the browser sees them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            if not (attrs.get("src") or "").startswith("/static/"):
                self.found.append(f"<script {attrs}>")
            self._in_script = True
        if tag in ("iframe", "object", "embed", "base"):
            self.found.append(f"<{tag}>")
        for name, value in attrs.items():
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.found.append("inline script")


def live_markup(html: str) -> list[str]:
    parser = _LiveMarkup()
    parser.feed(html)
    return parser.found


def _seed(ingest):
    plan = {"title": XSS[0], "description": XSS[1], "tasks": [{"id": "t0", "title": XSS[2], "prompt": XSS[3]}]}
    assert ingest.plan("plan-x", plan).status_code == 200
    assert ingest.start("exec-x", "plan-x", 2, T0).status_code == 201
    for number, payload in enumerate(XSS[:3], start=1):
        body = {"status": "failure", "duration": 1000, "attemptNumber": number, "output": f"# out\n{payload}\n{XSS[4]}",
                "error": payload + XSS[6], "prompt": XSS[5], "agentRoleDescription": XSS[7],
                "timestamp": T0 + number * 1000,
                "qcVerification": {"passed": False, "score": 10, "feedback": XSS[4], "issues": [payload, XSS[7]],
                                   "requiredFixes": [XSS[5]]}}
        response = ingest.task("exec-x", "t0", body, task={"id": "t0", "title": XSS[2], "qcRole": XSS[1]})
        assert response.status_code == 201, response.content
    assert ingest.finish("exec-x", T0 + 10_000).status_code == 201
    # A second run of the plan, for the compare page (its output diff holds the payloads too).
    assert ingest.start("exec-y", "plan-x", 1, T0 + 20_000).status_code == 201
    body = {"status": "success", "duration": 1000, "output": f"{XSS[1]}\n{XSS[3]}", "timestamp": T0 + 21_000}
    assert ingest.task("exec-y", "t0", body, task={"id": "t0", "title": XSS[5]}).status_code == 201


@pytest.mark.parametrize(
    "path",
    ["/", "/?q=%3Cscript%3E", "/executions/exec-x", "/executions/exec-x/tasks/t0", "/plans", "/plans/plan-x",
     "/reports/failures?started_from=2025-11-01&started_to=2025-11-30",
     "/executions/compare?a=exec-x&b=exec-y&task=t0"],
)
def test_it_shows_stored_xss_payloads_as_harmless_text(signed_in, ingest, path):
    _seed(ingest)
    response = signed_in.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert live_markup(html) == []
    # The payloads are there, escaped, so an engineer can read them.
    if path.startswith(("/executions/exec-x/tasks", "/executions/compare")):
        assert "&lt;img src=x onerror=" in html or "&lt;img src=&quot;x&quot;" in html


def test_it_finds_live_markup_when_there_is_some():
    # The detector itself must be able to fail.
    assert live_markup('<p>ok</p><img src=x onerror="alert(1)">') == ["<img onerror=...>"]
    assert live_markup("<script>alert(1)</script>") != []
    assert live_markup('<a href="javascript:alert(1)">x</a>') != []
    assert live_markup("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>") == []


def test_it_exports_stored_payloads_in_csv_without_formulas(signed_in, ingest):
    _seed(ingest)
    response = signed_in.get("/reports/failures.csv?started_from=2025-11-01&started_to=2025-11-30")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
    assert "exec-x" in body
    for line in body.splitlines()[1:]:
        for cell in line.split(","):
            assert not cell.startswith(("=", "+", "@")), cell


CYPHER_INJECTION = [
    "' OR 1=1 //",
    "x'}) MATCH (n) DETACH DELETE n //",
    "\") DETACH DELETE e RETURN 1 //",
    "` RETURN 1 //",
    "$q",
    "%' UNION MATCH (n) RETURN n //",
]


@pytest.mark.parametrize("payload", CYPHER_INJECTION + XSS[:2])
def test_it_treats_filter_and_search_values_as_plain_parameters(signed_in, ingest, payload):
    _seed(ingest)
    nodes_before = cypher("MATCH (n) RETURN count(n)")
    for path, params in [
        ("/", {"q": payload}),
        ("/", {"plan": payload, "status": payload}),
        ("/", {"started_from": payload, "started_to": payload, "page": payload}),
        ("/plans/plan-x", {"page": payload}),
        ("/reports/failures", {"plan": payload, "started_from": payload, "started_to": payload}),
        ("/reports/failures.csv", {"plan": payload}),
    ]:
        response = signed_in.get(path, params)
        assert response.status_code in (200, 400), (path, params, response.status_code)
        html = response.content.decode(errors="replace")
        assert live_markup(html) == []
    assert cypher("MATCH (n) RETURN count(n)") == nodes_before
    # A search for a payload finds nothing rather than everything.
    listing = signed_in.get("/", {"q": "' OR 1=1 //"}).content.decode()
    assert "exec-x" not in listing
