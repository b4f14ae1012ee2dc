"""The ``bp`` command: the runbooks and ``changes`` of tasks.py, for monitored hosts.

It offers the monitoring tree only (runbooks.namespace.monitoring): no lab, site
or test tasks, even in a checkout that has them. Monitoring runs a check
thousands of times an hour and start-up is most of what one costs, so ``main``
first tries the fast path (runbooks.fastpath: one task and its long options,
run without Invoke). Any other command line gets Invoke's program, for which
``main`` imports only the domains the command line names, and Invoke without
the two modules it loads for its test double (``MockContext`` wraps methods in
``unittest.mock.Mock``) and its version string (``importlib.metadata``), and
with its YAML parser (only config files need it) loaded on first use. Each is
imported for real the moment it is used. benchmarks/bp_startup.py measures it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from .namespace import MONITORING


def domains_named(argv: list[str]) -> tuple[str, ...]:
    """The domains a command line names (``mounts.audit`` → mounts), or all of them.

    A line that names none (``bp --list``, ``bp --help``, shell completion) gets
    every domain; a word that only looks like a domain just imports one more.
    """
    if "--complete" in argv:
        return MONITORING
    named = {word.split(".")[0] for word in argv[1:] if not word.startswith("-")}
    return tuple(name for name in MONITORING if name in named) or MONITORING


class _Mock:
    """Stands in for unittest.mock.Mock while Invoke is imported; makes real ones."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        from unittest.mock import Mock

        return Mock(*args, **kwargs)


def _version(name: str) -> str:
    """A distribution's version from its dist-info folder name (what Invoke asks for)."""
    for entry in sys.path:
        for info in Path(entry or ".").glob(f"{name}-*.dist-info"):
            return info.name[len(name) + 1:-len(".dist-info")]
    from importlib.metadata import version  # not found by name: ask the real thing

    return version(name)


class _LazyFinder:
    """Finds the modules named in LAZY as usual, loaded when first used (LazyLoader)."""

    LAZY = frozenset({"invoke.vendor.yaml"})

    @classmethod
    def find_spec(cls, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in cls.LAZY:
            return None
        from importlib.machinery import PathFinder
        from importlib.util import LazyLoader

        spec = PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = LazyLoader(spec.loader)
        return spec


def import_invoke_lean() -> None:
    """Import Invoke with stand-ins for unittest.mock and importlib.metadata, then drop them.

    Only modules nobody has imported yet are stood in for, and only during the
    import; later imports of either get the real module. Invoke's YAML parser is
    imported lazily (see _LazyFinder).
    """
    if "invoke" in sys.modules:
        return
    metadata = ModuleType("importlib.metadata")
    metadata.version = _version  # type: ignore[attr-defined]
    mock = ModuleType("unittest.mock")
    mock.Mock = _Mock  # type: ignore[attr-defined]
    stand_ins = {m.__name__: m for m in (metadata, mock) if m.__name__ not in sys.modules}
    sys.modules.update(stand_ins)
    sys.meta_path.insert(0, _LazyFinder)  # type: ignore[arg-type]
    try:
        import invoke  # noqa: F401
    finally:
        sys.meta_path.remove(_LazyFinder)  # type: ignore[arg-type]
        for name, module in stand_ins.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]


def main() -> None:
    from .fastpath import run as run_fast

    code = run_fast(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    import_invoke_lean()
    from .program import run

    run(domains_named(sys.argv))
