"""Every link a check can print opens its page and anchor on the built site.

Checks print ``why:`` links built by ``runbooks.core.findings.docs_url`` from
site-relative page references in the code. This test finds every such
reference in ``runbooks/`` (string constants, and f-strings or sums whose parts
are constants), turns it into the URL form the built site really uses, and
opens it in the site that ``mkdocs build`` writes.
"""

from __future__ import annotations

import ast
import re

import pytest
import yaml

from runbooks.core.findings import SITE_URL, docs_url, site_path
from runbooks.site.links import _Refs
from tests.helpers import REPO

PAGE_REF = re.compile(r"^(?:runbooks|stories|lessons|tolerances)/[a-z0-9-]+(?:/|\.md)(?:#[\w-]*)?$")
ANY = object()  # a part whose value is only known at run time


def _mounts_anchors() -> list[str]:
    from runbooks.mounts.judge import RULES

    return sorted({rule.anchor for rule in RULES})


# Anchors computed at run time, by the module that computes them.
DYNAMIC_ANCHORS = {"runbooks/mounts/judge.py": _mounts_anchors}


def _values(node: ast.AST, names: dict[str, list[str]]) -> list[object]:
    """Every string ``node`` can evaluate to; ANY stands for a run-time part."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name) and node.id in names:
        return list(names[node.id])
    if isinstance(node, ast.IfExp):
        return _values(node.body, names) + _values(node.orelse, names)
    if isinstance(node, ast.FormattedValue):
        return _values(node.value, names)
    parts: list[ast.AST] | None = None
    if isinstance(node, ast.JoinedStr):
        parts = list(node.values)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        parts = [node.left, node.right]
    if parts is None:
        return [ANY]
    results: list[object] = [""]
    for part in parts:
        options = _values(part, names)
        results = [ANY if ANY in (a, b) else a + b  # type: ignore[operator]
                   for a in results for b in options]
    return results


def _add_dynamic(rel: str, node: ast.JoinedStr, names: dict[str, list[str]],
                 found: dict[str, set[str]]) -> None:
    """f"{PAGE}#{anchor}" with a run-time anchor: the module says which anchors exist."""
    heads = [v for v in _values(node.values[0], names) if isinstance(v, str)]
    for head in heads:
        if not PAGE_REF.match(head):
            continue
        if rel not in DYNAMIC_ANCHORS:
            raise AssertionError(f"{rel}: a link to {head} with a run-time anchor; "
                                 "name its anchors in DYNAMIC_ANCHORS")
        for anchor in DYNAMIC_ANCHORS[rel]():
            found.setdefault(rel, set()).add(f"{head.split('#')[0]}#{anchor}")


def page_references() -> dict[str, set[str]]:
    """Source file -> site-relative page references its findings can link to."""
    found: dict[str, set[str]] = {}
    for path in sorted((REPO / "runbooks").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        tree = ast.parse(path.read_text(), rel)
        names: dict[str, list[str]] = {}
        for node in tree.body:  # module constants such as PAGE = "runbooks/x/"
            if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], ast.Name):
                values = _values(node.value, {})
                if all(isinstance(v, str) for v in values):
                    names[node.targets[0].id] = values  # type: ignore[assignment]
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant | ast.JoinedStr | ast.BinOp | ast.Name):
                continue
            for value in _values(node, names):
                if isinstance(value, str) and PAGE_REF.match(value):
                    found.setdefault(rel, set()).add(value)
            if isinstance(node, ast.JoinedStr) and ANY in _values(node, names):
                _add_dynamic(rel, node, names, found)
    return found


def test_the_scan_finds_the_links_we_know_of():
    refs = {ref for refs in page_references().values() for ref in refs}
    assert "runbooks/mount-options/#data-writeback" in refs  # computed from a rule
    assert "stories/moosefs-zero-copies/" in refs             # a constant
    assert "runbooks/mfs-audit/#undergoal" in refs            # an f-string choice
    assert "runbooks/lvm-health/#thin-pool" in refs           # a constant sum
    assert len(refs) >= 12


def test_every_link_a_check_prints_opens_its_page_and_anchor(built_site):
    problems = []
    for source, refs in sorted(page_references().items()):
        for ref in sorted(refs):
            file, _, anchor = site_path(ref).partition("#")
            html = built_site / file
            if not html.is_file():
                problems.append(f"{source}: {docs_url(ref)} -> no page {file}")
                continue
            ids = _Refs()
            ids.feed(html.read_text(encoding="utf-8"))
            if anchor and anchor not in ids.ids:
                problems.append(f"{source}: {docs_url(ref)} -> no anchor #{anchor} on {file}")
    assert problems == []


def test_links_use_the_sites_url_form_and_its_site_url(monkeypatch):
    monkeypatch.delenv("BP_DOCS_URL", raising=False)
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text().split("\nnav:")[0]
                            .replace("!!python", "#"))
    assert config["site_url"] == SITE_URL
    assert docs_url("runbooks/mount-options/#data-writeback") == \
        SITE_URL + "runbooks/mount-options.html#data-writeback"
    monkeypatch.setenv("BP_DOCS_URL", "https://kb.example.org/bp/")
    assert docs_url("stories/moosefs-zero-copies/") == \
        "https://kb.example.org/bp/stories/moosefs-zero-copies.html"


@pytest.mark.parametrize("ref", ["runbooks/x/#y", "runbooks/x.md#y", "runbooks/x/", "/runbooks/x"])
def test_site_path_is_the_offline_build_file(ref):
    assert site_path(ref).split("#")[0] == "runbooks/x.html"
