"""Every code block in docs/ is executed, or says why it cannot be."""

from pathlib import Path

import pytest
from sybil.document import Document

from tests.doc_plugin import ConsoleParser
from tests.docblocks import DOCS, fences, front_matter, how_executed, normalise, parse_console

PAGES = sorted(DOCS.rglob("*.md"))


def test_docs_exist():
    assert len(PAGES) >= 5


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_block_is_executed_or_marked_with_a_reason(page):
    lab = front_matter(page).get("lab")
    orphans = [f"{f.path.name}:{f.line} ```{f.info}" for f in fences(page)
               if how_executed(f, lab) is None]
    assert not orphans, (
        "code blocks that nothing executes; run them (console with `lab:` front matter, "
        "python) or put <!-- not-executed: reason --> right before them: " + ", ".join(orphans)
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_sybil_collects_exactly_the_console_blocks_meant_to_run(page):
    lab = front_matter(page).get("lab")
    meant = [f.line for f in fences(page) if f.lang == "console" and not f.reason]
    document = Document.parse(str(page), ConsoleParser())
    collected = [example.line for example in document.examples()]
    assert collected == meant
    if meant:
        assert lab, f"{page.name} has console blocks but no `lab:` front matter"


def test_a_block_without_marker_is_caught(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# t\n\n```yaml\na: 1\n```\n\n<!-- not-executed: sample -->\n```ini\nx=1\n```\n"
                    "\n```console\n$ true\n```\n")
    verdicts = [how_executed(f, None) for f in fences(page)]
    assert verdicts == [None, "not executed: sample", None]
    assert how_executed(fences(page)[2], "nas") == "sybil in lab nas"


def test_console_parsing_splits_commands_and_output():
    block = "$ echo a \\\n  b\na b\n$ true\n$ printf 'x\\n\\n'\nx\n\n"
    commands = parse_console(block)
    assert [(c.command, c.expected, c.line) for c in commands] == [
        ("echo a \n  b", ["a b"], 1),
        ("true", [], 4),
        ("printf 'x\\n\\n'", ["x", ""], 5),
    ]
    with pytest.raises(ValueError, match="output before any"):
        parse_console("output\n$ true\n")


def test_normalise_only_touches_volatile_parts():
    assert normalise("/dev/loop12 /srv  \n2026-01-02T03:04:05Z x\n\n") == (
        "/dev/loopN /srv\n<time> x"
    )
    assert normalise("/dev/sda1 /srv") == "/dev/sda1 /srv"
    assert normalise("172.18.0.4:9422 192.168.16.5") == "<lab-net>.4:9422 <lab-net>.5"
    # An lvs pool row: Meta% moves with ext4's lazy init, Data% and health do not.
    assert normalise("  lab pool 100.00 11.43  out_of_data     error") == \
        "  lab pool 100.00 <n>  out_of_data     error"
    assert normalise("  lab pool 50.00 11.43  out_of_data     error") != \
        normalise("  lab pool 100.00 11.43  out_of_data     error")


def test_python_blocks_run_through_pytest_markdown_docs(pytestconfig):
    assert pytestconfig.getoption("markdowndocs"), "pyproject addopts must keep --markdown-docs"
    assert any(f.lang == "python" for page in PAGES for f in fences(Path(page)))


PAGE_IN_THREE_LABS = """---
lab: [moosefs, moosefs4, lizardfs]
---
# A page

```console
$ true
```

<!-- lab: moosefs4 -->
```console
$ true
```

<!-- not-executed: shows a command only -->
```console
$ rm -rf /
```

<!-- lab: lizardfs -->
```console
$ true
```
"""


def test_a_block_runs_in_the_page_default_lab_or_the_one_its_tag_names():
    from runbooks.site.fences import console_labs

    assert console_labs(PAGE_IN_THREE_LABS) == {6: "moosefs", 11: "moosefs4", 21: "lizardfs"}
    assert console_labs("---\nlab: nas\n---\n```console\n$ true\n```\n") == {4: "nas"}
    assert console_labs("```console\n$ true\n```\n") == {1: None}


def test_a_block_tagged_with_several_labs_or_all_runs_in_each_in_order():
    from runbooks.site.fences import console_labs, console_runs

    page = PAGE_IN_THREE_LABS.replace("<!-- lab: moosefs4 -->", "<!-- lab: lizardfs, moosefs4 -->")
    page += "\n<!-- lab: all -->\n```console\n$ true\n```\n"
    assert console_runs(page) == {6: ["moosefs"], 11: ["lizardfs", "moosefs4"],
                                  21: ["lizardfs"], 26: ["moosefs", "moosefs4", "lizardfs"]}
    assert console_labs(page)[11] == "lizardfs"
    with pytest.raises(ValueError, match="block tagged lab 'nas'"):
        console_runs("---\nlab: [moosefs]\n---\n<!-- lab: moosefs, nas -->\n```console\n```\n")


def test_a_block_tagged_with_a_lab_the_page_does_not_name_is_an_error():
    from runbooks.site.fences import console_labs

    with pytest.raises(ValueError, match=r"line 5: block tagged lab 'nas', but the page's "
                                         r"labs are \['moosefs'\]"):
        console_labs("---\nlab: moosefs\n---\n<!-- lab: nas -->\n```console\n$ true\n```\n")
