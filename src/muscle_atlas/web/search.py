"""The search index the search page fetches: one entry per page, the words it is found by."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from muscle_atlas.web.theme import write_text

INDEX = "search-index.json"


@dataclass
class SearchEntry:
    title: str
    url: str  # below the site root
    kind: str
    text: str  # the words the page is found by, besides its title


def write_search_index(out: Path, entries: Iterable[SearchEntry]) -> None:
    """``out/search-index.json``, compact and UTF-8 (``site.js`` reads it)."""
    index = [asdict(e) for e in entries]
    write_text(out / INDEX, json.dumps(index, ensure_ascii=False, separators=(",", ":")))
