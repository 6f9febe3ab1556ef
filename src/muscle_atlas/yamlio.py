"""YAML tables of the package, read with PyYAML's C parser (libyaml, in PyYAML's wheels) when
it is there: the pure-Python parser took a fifth of a second of every run for our tables."""

from __future__ import annotations

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> object:
    """What ``yaml.safe_load`` returns (the same safe subset of YAML)."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader


def quote(text: str) -> str:
    """``text`` as a single-quoted YAML scalar (front matter)."""
    return "'" + text.replace("'", "''") + "'"
