"""Pages not rendered again when what they are made of did not change.

A page's *digest* is a hash of everything its HTML is made of: the templates (every file of the
theme's ``templates/`` folder), the package and Jinja versions, the template's name, and the page's
site and page contexts. :class:`PageMemo` keeps, in a manifest beside the site (in its cache
folder), each page's digest and the identity of its published file (size, modification time,
inode). When a build makes a page whose digest is the manifest's and whose published file is still
that file, the published file is linked into the staging folder instead of rendering the page
again; otherwise the page is rendered. The staging folder is a complete site either way, and it
replaces the output only when complete (:mod:`muscle_atlas.web.publish`); the manifest is written
after that, from the files published. A new package, Jinja or template version changes every
digest: every page is rendered again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from functools import cache
from pathlib import Path
from typing import Any

from muscle_atlas import __version__

FORMAT = 1  # of the manifest


@cache
def theme_digest() -> str:
    """A hash of the templates, the package and Jinja versions: a change renders every page again."""
    import jinja2

    from muscle_atlas.web.theme import templates

    digest = hashlib.sha256(f"{FORMAT} {__version__} {jinja2.__version__}".encode())
    for path in sorted(templates().iterdir(), key=lambda p: p.name):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _plain(value: object) -> Any:
    """What JSON cannot write itself: a dataclass as its fields, a set sorted; anything else by its
    ``repr`` (an address in it makes the digest new each time: the page is rendered, never wrongly kept)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__class__": type(value).__name__, **vars(value)}
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return repr(value)


def page_digest(template: str, site: object, page: object) -> str:
    """The digest of a page: the theme, the template's name and both contexts."""
    try:
        text = json.dumps([theme_digest(), template, site, page], default=_plain, ensure_ascii=False)
    except (TypeError, ValueError):  # a key JSON cannot write: a digest never seen, the page is rendered
        return os.urandom(32).hex()
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _identity(path: Path) -> list[int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino]


class PageMemo:
    """The pages of a site kept from its previous build (``previous``: the published output) where
    their digests are unchanged; ``manifest``: the JSON file of the digests, in the cache folder."""

    def __init__(self, manifest: Path, previous: Path) -> None:
        self.manifest = manifest
        self.previous = previous
        self.known: dict[str, list] = {}  # page file (relative) → [digest, size, mtime_ns, inode] of the last publish
        self.digests: dict[str, str] = {}  # page file → its digest in this build
        self.rendered: list[str] = []  # page files rendered in this build
        self.kept: list[str] = []  # page files linked from the previous build
        try:
            saved = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(saved, dict) and saved.get("theme") == theme_digest() and isinstance(saved.get("pages"), dict):
            self.known = saved["pages"]

    def keep(self, relative: str, digest: str, target: Path) -> bool:
        """Put the previous build's page ``relative`` at ``target`` if its digest is unchanged and
        its published file is the one recorded; False: the page must be rendered."""
        self.digests[relative] = digest
        known = self.known.get(relative)
        old = self.previous / relative
        if known is None or known[0] != digest or _identity(old) != known[1:]:
            self.rendered.append(relative)
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(old, target)
        except OSError:
            shutil.copy2(old, target)
        self.kept.append(relative)
        return True

    def save(self, published: Path) -> None:
        """Record the digests of this build's pages and the identity of their published files
        (call it once the site is published at ``published``)."""
        pages = {}
        for relative, digest in self.digests.items():
            identity = _identity(published / relative)
            if identity is not None:
                pages[relative] = [digest, *identity]
        self.manifest.parent.mkdir(parents=True, exist_ok=True)
        partial = self.manifest.with_name(f".{self.manifest.name}.{os.getpid()}")
        partial.write_text(json.dumps({"theme": theme_digest(), "pages": pages}, separators=(",", ":")), encoding="utf-8")
        os.replace(partial, self.manifest)
