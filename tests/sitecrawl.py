"""Which files of a built site no page or data file refers to (orphans), found by a crawl."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

# Where a visitor, a crawler or the site's own scripts start: the home page, the page servers show
# for a missing address, robots.txt and the sitemap, the search index (site.js) and the redirects
# (404.html).
ENTRY_POINTS = ("index.html", "404.html", "robots.txt", "sitemap.xml", "search-index.json", "redirects.json")
URL_ATTRIBUTES = {"href", "src", "poster", "data-model", "data-model-poster", "data-viewer-src", "data-draco"}


class _References(HTMLParser):
    """Every URL in an attribute, <template> contents included (the other sides' views)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for key, value in attrs if key in URL_ATTRIBUTES and value]


def _targets(site: Path, base: Path, url: str, base_url: str) -> list[Path]:
    if base_url and url.startswith(base_url):
        url = "/" + url[len(base_url) :]
    parsed = urlparse(url)
    if parsed.scheme or parsed.netloc or url.startswith(("#", "data:")):
        return []
    path = unquote(parsed.path)
    if not path:
        return []
    target = (site / path.lstrip("/")) if path.startswith("/") else (base / path)
    target = target.resolve()
    if target.is_dir():
        index = target / "index.html"
        # A folder without a page (the Draco decoder's): the loader fetches its files by name.
        return [index] if index.is_file() else [p for p in target.iterdir() if p.is_file()]
    return [target]


def reachable(site: Path, base_url: str = "http://127.0.0.1:8000/") -> set[Path]:
    site = site.resolve()
    queue = [site / name for name in ENTRY_POINTS if (site / name).is_file()]
    seen: set[Path] = set()
    while queue:
        path = queue.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        urls: list[str] = []
        if path.suffix == ".html":
            parser = _References()
            parser.feed(path.read_text(encoding="utf-8"))
            urls = parser.urls
        elif path.suffix == ".json":
            urls = _strings(json.loads(path.read_text(encoding="utf-8")))
        elif path.suffix in (".xml", ".txt"):
            urls = re.findall(r"(?:<loc>|Sitemap: )(\S+?)(?:</loc>|$)", path.read_text(encoding="utf-8"), re.M)
        base = site if path.suffix == ".json" else path.parent  # data files' paths start at the root
        for url in urls:
            queue += _targets(site, base, url, base_url)
    return seen


def _strings(data: object) -> list[str]:
    if isinstance(data, str):
        return [data] if re.match(r"^/?[\w./-]+$", data) and ("/" in data or "." in data) else []
    if isinstance(data, dict):
        return [s for k, v in data.items() for s in _strings(k) + _strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in _strings(v)]
    return []


def orphans(site: Path, base_url: str = "http://127.0.0.1:8000/") -> list[str]:
    """Files under ``site`` that nothing reachable from its entry points refers to."""
    found = reachable(site, base_url)
    return sorted(str(p.relative_to(site.resolve())) for p in site.resolve().rglob("*") if p.is_file() and p not in found)
