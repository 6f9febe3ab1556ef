"""Mapping files (``--map FILE``): the user's word on labels the matcher cannot name."""

from __future__ import annotations

import re
from pathlib import Path

from muscle_atlas.anatomy.match import Matcher, MatchResult, default_matcher
from muscle_atlas.errors import AnatomyError


def read_mapping(path: str | Path, matcher: Matcher | None = None) -> dict[str, MatchResult]:
    """``--map FILE``: one ``label or name = target`` per line (``=``, ``:``, tab or ``,``).

    Targets: ``211201`` (code with side digit), ``soleus left``, ``leg/soleus right``,
    ``context``, ``context:tibia`` or ``ignore``. Lines starting with ``#`` are comments."""
    from muscle_atlas.sources.textfile import read_text

    matcher = matcher or default_matcher()
    path = Path(path)
    if not path.is_file():
        raise AnatomyError("no such mapping file", path)
    mapping: dict[str, MatchResult] = {}
    for number, line in enumerate(read_text(path, AnatomyError, "mapping file").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(stripped) > 500:  # no mapping line is this long; the split below is quadratic in it
            raise AnatomyError(f"line {number}: {len(stripped)} characters, expected 'label or name = target'", path)
        parts = re.split(r"\s*(?:=|\t|,|:(?=\s))\s*", stripped, maxsplit=1)
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise AnatomyError(f"line {number}: expected 'label or name = target'", path)
        key = parts[0].strip().strip("\"'")
        if key.lower() in mapping:
            raise AnatomyError(f"line {number}: {key!r} is mapped twice", path)
        mapping[key.lower()] = matcher.resolve_target(parts[1].strip().strip("\"'"), f"{path}: line {number}")
    return mapping
