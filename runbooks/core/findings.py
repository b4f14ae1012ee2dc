"""Findings: what a check concluded about one subject on one target.

A runbook's judge layer turns parsed data into findings; the renderers in
:mod:`runbooks.core.render` turn findings into a table, JSON, a Nagios status
line or check_mk local-check lines. The exit status is always the worst
severity, whatever the format, so monitoring and humans see the same verdict.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

# The site's address: `site_url` of mkdocs.yml, kept equal to it by a test (a
# monitoring host has the package, not mkdocs.yml). BP_DOCS_URL overrides it,
# for a team that publishes its own copy of the site.
SITE_URL = "http://127.0.0.1:8000/"


class Severity(IntEnum):
    """Severity ordered by how bad it is: CRIT outranks UNKNOWN outranks WARN.

    UNKNOWN ranks above WARN because "we could not look" must not be hidden
    behind a mere warning, and below CRIT because a confirmed problem is worse.
    """

    OK = 0
    WARN = 1
    UNKNOWN = 2
    CRIT = 3

    @property
    def exit_code(self) -> int:
        """The Nagios plugin exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""
        return {Severity.OK: 0, Severity.WARN: 1, Severity.CRIT: 2, Severity.UNKNOWN: 3}[self]

    @property
    def nagios(self) -> str:
        return {
            Severity.OK: "OK",
            Severity.WARN: "WARNING",
            Severity.CRIT: "CRITICAL",
            Severity.UNKNOWN: "UNKNOWN",
        }[self]


def docs_base_url() -> str:
    """Where the site is published: BP_DOCS_URL if set, else the site's own ``site_url``."""
    return os.environ.get("BP_DOCS_URL") or SITE_URL


def site_path(page: str) -> str:
    """The built site's file for a page given as 'runbooks/x/#y' or 'runbooks/x.md#y'.

    The site is built for offline use, so every page is a file ``runbooks/x.html``
    (there is no ``runbooks/x/`` folder to open).
    """
    path, sep, anchor = page.lstrip("/").partition("#")
    path = path.removesuffix("/").removesuffix(".md").removesuffix(".html")
    return f"{path}.html{sep}{anchor}"


def docs_url(page: str) -> str:
    """Absolute link to a site page given as a site-relative path ('runbooks/x/#y')."""
    if not page or "://" in page:
        return page
    return docs_base_url().rstrip("/") + "/" + site_path(page)


@dataclass(frozen=True)
class Finding:
    """One verdict: ``check`` found ``severity`` on ``subject`` of ``target``.

    ``why`` says why it matters to the operator; ``page`` is the site-relative
    page that explains it; ``data`` carries the structured facts behind it.
    """

    check: str
    severity: Severity
    target: str
    subject: str
    message: str
    why: str = ""
    page: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    item: str = ""  # the monitoring item (check_mk service) it belongs to; default: subject

    @property
    def service(self) -> str:
        return self.item or self.subject

    @property
    def url(self) -> str:
        return docs_url(self.page)

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity.name,
            "target": self.target,
            "subject": self.subject,
            "message": self.message,
            "why": self.why,
            "url": self.url,
            "data": dict(self.data),
        }


@dataclass
class Report:
    """All findings of one runbook run across its targets, plus perfdata metrics."""

    name: str
    title: str
    noun: str = "item"  # what a subject is, for summaries: "mount", "file", "host"
    findings: list[Finding] = field(default_factory=list)
    checked: int | None = None  # how many subjects were looked at, when not all have findings
    metrics: dict[str, float] = field(default_factory=dict)
    targets: list[str] = field(default_factory=list)
    ok_text: str = ""  # what "no problems" means, when "N checked, all OK" would mislead
    # Lines for a person at a terminal, e.g. a listing of everything checked and not only
    # the problems: the table format shows them first; the machine formats leave them out
    # (JSON has the findings' data, Nagios and check_mk have their own line formats).
    details: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)  # for the check's duration

    def extend(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)

    @property
    def worst(self) -> Severity:
        return max((f.severity for f in self.findings), default=Severity.OK)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is not Severity.OK]

    @property
    def subjects(self) -> list[tuple[str, str]]:
        """Distinct (target, subject) pairs that were judged, in order of appearance."""
        seen: dict[tuple[str, str], None] = {}
        for f in self.findings:
            if f.subject:
                seen.setdefault((f.target, f.subject), None)
        return list(seen)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)
