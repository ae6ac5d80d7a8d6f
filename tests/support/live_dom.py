"""A page's DOM as the live page's htmx poll changes it, without a browser: parse the page, apply a
poll response the way htmx 2 does (its out-of-band swaps in document order, then the main swap of
the poll element), and compare the outcome with a freshly rendered page. The browser tests check
the same with the real htmx; this lets a test apply hundreds of polls in seconds.

Supported, as the live page uses them: hx-swap-oob="true" (replace the element with the same id),
"delete:SEL", "afterend:SEL", "afterbegin:SEL" and "innerHTML:SEL" (the oob element's children are
inserted, or replace the target's), where
SEL is `#id` or `[attr=value]`; and what static/js/app.js does on htmx:oobBeforeSwap: a row
(bar) about to be inserted first removes the page's old copy of it (same data-row/data-bar), and on
htmx:afterSettle: the timeline's bars on the critical path are marked again.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass(eq=False)
class Node:
    tag: str
    attrs: dict[str, str | None] = field(default_factory=dict)
    children: list = field(default_factory=list)  # Node or str
    parent: Node | None = None

    def html(self, skip_attrs: frozenset = frozenset()) -> str:
        if self.tag == "#root":
            return "".join(_html(c, skip_attrs) for c in self.children)
        attrs = "".join(f" {k}" if v is None else f' {k}="{html_lib.escape(v, quote=True)}"'
                        for k, v in self.attrs.items() if k not in skip_attrs)
        if self.tag in VOID:
            return f"<{self.tag}{attrs}>"
        return f"<{self.tag}{attrs}>" + "".join(_html(c, skip_attrs) for c in self.children) + f"</{self.tag}>"

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def elements(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.elements()

    def select(self, selector: str) -> list[Node]:
        if selector.startswith("#"):
            return [n for n in self.elements() if n.attrs.get("id") == selector[1:]]
        match = re.fullmatch(r"\[([\w-]+)=([\w-]+)\]", selector)
        if not match:
            raise ValueError(f"selector not supported here: {selector!r}")
        name, value = match.groups()
        return [n for n in self.elements() if n.attrs.get(name) == value]

    def one(self, selector: str) -> Node:
        found = self.select(selector)
        assert len(found) == 1, (selector, len(found))
        return found[0]

    def child_elements(self) -> list[Node]:
        return [c for c in self.children if isinstance(c, Node)]


def _html(node, skip_attrs) -> str:
    return html_lib.escape(node, quote=False) if isinstance(node, str) else node.html(skip_attrs)


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root")
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), parent=self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, dict(attrs), parent=self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(text: str) -> Node:
    builder = _Builder()
    builder.feed(text)
    builder.close()
    return builder.root


def _place(node: Node, parent: Node, index: int) -> None:
    node.parent = parent
    parent.children.insert(index, node)


def _remove(node: Node) -> int:
    index = node.parent.children.index(node)
    del node.parent.children[index]
    return index


def apply_poll(page: Node, response: str) -> list[str]:
    """Apply a poll response to `page` (in place); returns what went wrong, as htmx would log it
    (an out-of-band swap whose target is not on the page)."""
    fragment = parse(response)
    problems = []

    def in_template(node: Node) -> bool:
        while node.parent is not None:
            node = node.parent
            if node.tag == "template":
                return True
        return False

    # htmx parses a response inside a <template>, whose parsing mode its first element sets (here a
    # <div>): table parts elsewhere than in a table or in a nested <template> are dropped.
    for node in fragment.elements():
        if node.tag in ("tbody", "thead", "tr", "td", "th") and not in_template(node):
            ancestors, up = set(), node.parent
            while up is not None:
                ancestors.add(up.tag)
                up = up.parent
            if "table" not in ancestors:
                problems.append(f"<{node.tag}> outside a table or a <template>: an HTML parser drops it")
    # Out-of-band elements in document order, those inside <template>s after the others (htmx).
    oobs = [n for n in fragment.elements() if "hx-swap-oob" in n.attrs]
    oobs = [n for n in oobs if not in_template(n)] + [n for n in oobs if in_template(n)]
    for oob in oobs:
        value = oob.attrs.pop("hx-swap-oob")
        _remove(oob)
        if value == "true":
            style, selector = "outerHTML", "#" + oob.attrs["id"]
        else:
            style, selector = value.split(":", 1)
        # static/js/app.js, on htmx:oobBeforeSwap: the old copies of incoming rows and bars go.
        for incoming in [n for n in oob.elements()] + [oob]:
            for name in ("data-row", "data-bar"):
                if name in incoming.attrs:
                    for old in page.select(f"[{name}={incoming.attrs[name]}]"):
                        _remove(old)
        targets = page.select(selector)
        if not targets:
            problems.append(f"no target for {value}")
            continue
        for target in targets:
            if style == "outerHTML":
                _place(oob, target.parent, _remove(target))
            elif style == "delete":
                _remove(target)
            elif style == "afterend":
                at = target.parent.children.index(target) + 1
                for offset, child in enumerate([c for c in oob.children if isinstance(c, Node)]):
                    _place(child, target.parent, at + offset)
            elif style == "innerHTML":
                for child in list(target.children):
                    if isinstance(child, Node):
                        child.parent = None
                target.children = []
                for child in oob.children:
                    if isinstance(child, Node):
                        _place(child, target, len(target.children))
                    else:
                        target.children.append(child)
            elif style == "afterbegin":
                for offset, child in enumerate([c for c in oob.children if isinstance(c, Node)]):
                    _place(child, target, offset)
            else:
                raise ValueError(f"swap style not supported here: {style}")
    # The main swap: the poll element is replaced by what is left (hx-swap="outerHTML"), less the
    # <template>s that held out-of-band elements.
    poller = page.one("#live-poll")
    at = _remove(poller)
    for offset, child in enumerate(c for c in fragment.child_elements() if c.tag != "template"):
        _place(child, poller.parent, at + offset)
    _mark_critical_bars(page)
    return problems


def _mark_critical_bars(page: Node) -> None:
    """static/js/app.js markCriticalBars: the timeline's bars on the critical path (#critical-path)
    get `tl-critical`, the others lose it."""
    found = page.select("#critical-path")
    if not found:
        return
    keys = {n.attrs.get("data-key") for n in found[0].elements() if "data-key" in n.attrs}
    for row in page.select("#timeline-rows")[0].child_elements() if page.select("#timeline-rows") else []:
        bar = next((n for n in row.elements() if n.tag == "rect"), None)
        if bar is None:
            continue
        classes = [c for c in (bar.attrs.get("class") or "").split() if c != "tl-critical"]
        if row.attrs.get("data-bar") in keys:
            classes.append("tl-critical")
        bar.attrs["class"] = " ".join(classes)


def rows(page: Node) -> list[str]:
    """The task table's rows, as HTML."""
    found = page.select("#task-rows")
    return [r.html() for r in found[0].child_elements()] if found else []


def bars(page: Node) -> list[str]:
    """The timeline's rows, as HTML, without the bars' x and width (static/js/app.js places every
    bar again from its data-start-ms and data-end-ms and the span)."""
    found = page.select("#timeline-rows")
    return [r.html(frozenset({"x", "width"})) for r in found[0].child_elements()] if found else []


def shown(page: Node) -> dict:
    """What the live page shows that polls keep current (not the elapsed time, which ticks)."""
    span = page.select("#timeline-span")
    return {
        "rows": rows(page),
        "bars": bars(page),
        "count": page.one("#tasks-count").text(),
        "progress": next(n for n in page.one("#live-head").elements() if n.tag == "svg").attrs.get("aria-label"),
        "tokens": page.one("#live-head").text().split("Tokens", 1)[1].split("Tool calls", 1)[0].split(),
        # Its end is "now" while the execution runs: a fresh page's is later than the last poll's.
        "span_start": span[0].attrs["data-start-ms"] if span else None,
        "empty": "No task results yet" in page.one("#tasks-card").text(),
        # The dependency graph: every node (status, attempts, QC, duration) and the critical path.
        "graph": page.one("#graph-card").html(),
    }
