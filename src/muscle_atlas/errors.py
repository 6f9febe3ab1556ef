"""One exception root for everything a user can cause.

The CLI turns an :class:`AtlasError` into a single line on stderr and exit status 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class AtlasError(Exception):
    """An error the user can fix: bad file, bad table, unknown name."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.message = message
        super().__init__(f"{path}: {message}" if path is not None else message)


class SourceError(AtlasError):
    """A segmentation (volume or mesh folder) cannot be read."""


class LabelTableError(AtlasError):
    """A label table is malformed."""


class AnatomyError(AtlasError):
    """The structure tree, facts or a mapping file are invalid, or a name is unknown."""


class ConfigError(AtlasError):
    """An atlas project file has errors (all of them are listed)."""


class MapError(AtlasError):
    """A quantitative map (Dixon, DTI tensor, scalar map) cannot be read or used with the labels."""


def one_line(text: object, limit: int = 200) -> str:
    """A message (or an exception) as one short line of printable text: a file's content or name,
    and a library's message about it, can hold anything."""
    line = " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())
    return line if len(line) <= limit else line[:limit] + "…"
