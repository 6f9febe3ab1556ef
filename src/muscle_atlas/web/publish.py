"""Putting a finished site in place: the output checks, a staging folder beside the output, the
swap that replaces the output only by a complete site (a failed, interrupted or killed build leaves
the previous one as it was; files whose bytes did not change are kept as they were, not rewritten),
and pruning what no page links to. Build and study publish alike."""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from muscle_atlas.errors import AtlasError


def cache_dir(output: Path) -> Path:
    """The render cache beside an output folder, kept between builds."""
    return output.parent / f".{output.name}.muscle-atlas-cache"


def check_output(output: Path, error: type[AtlasError] = AtlasError, source: Path | None = None,
                 source_name: str = "the source", inputs: Iterable[Path] = ()) -> None:  # fmt: skip
    """Refuse an output folder inside the source, one holding an input (a finished build replaces
    the output folder), or a file in its place."""
    if source is not None and (output == source or source in output.parents):
        raise error(f"the output folder must not be inside {source_name}", output)
    inside = next((f for f in inputs if output in f.parents), None)
    if inside is not None:
        raise error(f"the output folder holds an input of the study ({inside.name})", output)
    if output.exists() and not output.is_dir():
        raise error("exists and is not a folder", output)


class Terminated(Exception):
    """SIGTERM, turned into an exception so that the staging folder is removed."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(f"signal {signum}")


@contextmanager
def staged(output: Path, published: Published | None = None) -> Iterator[Path]:
    """A fresh folder beside ``output`` to write the site into; it replaces ``output`` when the
    block ends (``published``, when given, is filled with what changed), and is removed when the
    block fails, is interrupted or the process is terminated."""
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.parent / f".{output.name}.building-{os.getpid()}"
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if main else None
    try:
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir()
        yield staging
        done = swap_in(staging, output)
        if published is not None:
            published.__dict__.update(done.__dict__)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def swap_in(staging: Path, output: Path) -> Published:
    """Replace ``output`` by the complete ``staging`` folder with two renames. Files of the new
    site whose bytes equal the previous site's are that file (a hard link to it): they are not
    rewritten, keep their time stamps, and a copy to a web server sends only what changed."""
    published = keep_unchanged(staging, output) if output.is_dir() else Published(written=_count_files(staging))
    retired = output.parent / f".{output.name}.previous-{os.getpid()}"
    if output.exists():
        output.rename(retired)
    staging.rename(output)
    shutil.rmtree(retired, ignore_errors=True)
    return published


@dataclass
class Published:
    """What a publish did: files new or changed (written), and files whose bytes were unchanged."""

    written: int = 0
    unchanged: int = 0
    changed: list[str] = field(default_factory=list)  # relative paths, new or changed (capped)


CHANGED_LISTED = 200  # changed paths kept in :class:`Published` (the count is always exact)


def _count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def keep_unchanged(staging: Path, output: Path) -> Published:
    """Put the previous site's file in place of every staged file with the same bytes (a hard
    link; where the file system has none, the staged copy stays). Sizes are compared first, then
    the bytes. The staging folder stays a complete site either way."""
    import filecmp

    published = Published()
    for folder, _, files in os.walk(staging):
        for name in files:
            new = Path(folder) / name
            relative = new.relative_to(staging)
            old = output / relative
            try:
                before, now = old.lstat(), new.stat()
                if os.path.samestat(before, now):  # already the previous file (a page kept: web.memo)
                    published.unchanged += 1
                    continue
                same = stat.S_ISREG(before.st_mode) and before.st_size == now.st_size \
                    and filecmp.cmp(old, new, shallow=False)  # fmt: skip
            except OSError:
                same = False
            if same:
                link = new.with_name(f".{name}.unchanged-{os.getpid()}")
                try:
                    os.link(old, link)
                    os.replace(link, new)
                    published.unchanged += 1
                    continue
                except OSError:
                    link.unlink(missing_ok=True)
            published.written += 1
            if len(published.changed) < CHANGED_LISTED:
                published.changed.append(str(relative))
    return published


_DATA_ROOT = re.compile(r'<body[^>]* data-root="([^"]*)"')
_REFERENCE = re.compile(r'(?:href|src|poster|data-model|data-model-poster|data-viewer-src)="([^"#?]*)')


def linked_files(folder: Path) -> set[Path]:
    """Every file reachable from ``folder/index.html`` through the pages' links, images, videos,
    posters and 3D models (and the search index, which the search page fetches)."""
    folder = folder.resolve()
    seen: set[Path] = set()
    queue = [folder / "index.html"]
    while queue:
        path = queue.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        if path.suffix != ".html":
            continue
        text = path.read_text(encoding="utf-8")
        root = _DATA_ROOT.search(text)
        if 'id="search-form"' in text and root:  # site.js fetches the index from the page's data-root
            queue.append((path.parent / unquote(root.group(1)) / "search-index.json").resolve())
        for ref in _REFERENCE.findall(text):
            if not ref or ref.startswith(("http:", "https:", "mailto:", "data:", "/")):
                continue
            target = (path.parent / unquote(ref)).resolve()
            if ref.endswith("/"):
                target = target / "index.html"
            if folder in target.parents:
                queue.append(target)
    return seen


def prune_unlinked(folder: Path, within: Path | None = None) -> int:
    """Remove the files under ``within`` (default: all) that no page of ``folder`` links to (an
    atlas ships every side's stills and videos; a study shows one), keeping licence files."""
    keep = linked_files(folder)
    removed = 0
    for path in sorted((within or folder).resolve().rglob("*")):
        if path.is_file() and path not in keep and "LICENSE" not in path.name:
            path.unlink()
            removed += 1
    return removed
