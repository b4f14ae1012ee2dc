"""MkDocs hook: render the generated pages before every build (see runbooks/sitegen.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def on_pre_build(config: Any, **_: Any) -> None:
    root = Path(config["config_file_path"]).parent
    sys.path.insert(0, str(root))
    from runbooks.sitegen import generate

    generate(Path(config["docs_dir"]))
