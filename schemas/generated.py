"""Files generated from the project's single sources (schema, options): written, or checked for drift."""

from __future__ import annotations

import sys
from pathlib import Path


def write_or_check(files: dict[Path, str], check: bool, what: str, command: str) -> int:
    """Write each file's text, or with check=True report (exit status 1) the files whose text is stale."""
    stale = []
    for path, text in files.items():
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
            print(path)
    if stale:
        print(f"stale {what}: {', '.join(stale)}; run {command}", file=sys.stderr)
        return 1
    return 0
