"""Publishing: a finished site replaces the output whole, and files whose bytes did not change are
the previous files (not rewritten: same inode, same time stamp)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from muscle_atlas.web.publish import Published, staged


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")


def test_unchanged_files_are_kept_and_changed_ones_replaced(tmp_path: Path) -> None:
    out = tmp_path / "site"
    with staged(out) as staging:
        _write(staging, {"index.html": "home", "a/page.html": "same", "b/page.html": "old", "gone.html": "x"})
    before = {p: (out / p).stat() for p in ("index.html", "a/page.html", "b/page.html")}
    published = Published()
    with staged(out, published) as staging:
        _write(staging, {"index.html": "home", "a/page.html": "same", "b/page.html": "new!", "c/new.html": "c"})
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "a/page.html", "b/page.html", "c/new.html", "index.html"]  # fmt: skip
    assert (out / "b" / "page.html").read_text() == "new!"
    for name in ("index.html", "a/page.html"):
        now = (out / name).stat()
        assert (now.st_ino, now.st_mtime_ns) == (before[name].st_ino, before[name].st_mtime_ns), name
    assert (out / "b" / "page.html").stat().st_ino != before["b/page.html"].st_ino
    assert (published.written, published.unchanged) == (2, 2)
    assert sorted(published.changed) == [os.path.join("b", "page.html"), os.path.join("c", "new.html")]
    assert not list(tmp_path.glob(".site.*")), "no staging or retired folder is left"


def test_a_failed_build_leaves_the_previous_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    with staged(out) as staging:
        _write(staging, {"index.html": "home"})
    inode = (out / "index.html").stat().st_ino
    with pytest.raises(RuntimeError), staged(out) as staging:
        _write(staging, {"index.html": "home"})
        raise RuntimeError("the build failed")
    assert (out / "index.html").stat().st_ino == inode and not list(tmp_path.glob(".site.*"))
