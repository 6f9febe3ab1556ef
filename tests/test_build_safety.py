"""Builds never lose anything: atomic swaps, untouched sources, identical rebuilds, hostile names."""

from __future__ import annotations

import hashlib
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from muscle_atlas.cli import main
from sitebuild import build_site, small_phantom


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture()
def built(tmp_path: Path) -> tuple[Path, Path, Path]:
    volume, table = small_phantom(tmp_path / "data")
    out = build_site(volume, tmp_path / "site", labels=str(table))
    return volume, table, out


def _start_build(volume: Path, table: Path, out: Path) -> subprocess.Popen:
    # Different settings from the existing site, so this build has real rendering to do.
    command = [sys.executable, "-m", "muscle_atlas", "build", str(volume), "--labels", str(table), "-o", str(out),
               "--views", "16", "--size", "400", "--no-ssaa", "--jobs", "1"]  # fmt: skip
    # Ctrl-C as at a terminal: a suite started in the background by a non-interactive shell
    # (`make test &`, nohup) ignores SIGINT, and its children would inherit that.
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_interrupted_build_leaves_the_previous_site_as_it_was(built, sig: signal.Signals) -> None:
    volume, table, out = built
    before = _digest(out)
    process = _start_build(volume, table, out)
    cache = out.parent / f".{out.name}.muscle-atlas-cache" / "renders"
    deadline = time.time() + 60
    assert not list(cache.glob("*-1[0-6].webp"))
    # Wait until the new build is rendering: a still only its 16 views have (the site's have 4),
    # with seconds of work left. Then interrupt it.
    while time.time() < deadline and not list(cache.glob("*-1[0-6].webp")) and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "the build ended before it could be interrupted"
    process.send_signal(sig)
    process.wait(timeout=60)
    assert process.stderr is not None
    assert process.returncode != 0, process.stderr.read()
    assert _digest(out) == before
    leftovers = [p.name for p in out.parent.iterdir() if ".building-" in p.name or ".previous-" in p.name]
    assert leftovers == []


def _children(pid: int) -> list[int]:
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat_file.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat_file.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def test_render_workers_end_with_a_killed_build(tmp_path: Path) -> None:
    """kill -9 of a build (or a crash) ends its render workers too: none is left waiting for
    work, holding the caller's output pipe open."""
    volume, table = small_phantom(tmp_path / "data")
    command = [sys.executable, "-m", "muscle_atlas", "build", str(volume), "--labels", str(table), "-o",
               str(tmp_path / "site"), "--jobs", "2"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and len(_children(process.pid)) < 2:
        time.sleep(0.1)
    workers = _children(process.pid)
    assert len(workers) >= 2
    process.kill()
    process.wait(timeout=10)
    deadline = time.time() + 10
    while time.time() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
        time.sleep(0.1)
    assert [w for w in workers if Path(f"/proc/{w}").exists()] == []


def test_failed_build_leaves_the_previous_site(built, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    volume, table, out = built
    before = _digest(out)
    bad_map = tmp_path / "bad.map"
    bad_map.write_text("1 = no such muscle at all\n")
    code = main(["build", str(volume), "--labels", str(table), "--map", str(bad_map), "-o", str(out), "--views", "4"])
    assert code == 2
    assert f"{bad_map}: line 1:" in capsys.readouterr().err
    assert _digest(out) == before


@pytest.mark.parametrize("hostile", ["half-copied volume", "binary table"])
def test_a_hostile_source_leaves_the_previous_site(hostile: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A reader failing mid-build (issue #14): one line, status 2, the previous site untouched."""
    volume, table = small_phantom(tmp_path / "data")
    out = build_site(volume, tmp_path / "site", labels=str(table), views=1, size=64, thumb=16)
    before = _digest(out)
    source, labels = volume, table
    if hostile == "half-copied volume":
        source = tmp_path / "data" / "legs-download.nii.gz"
        source.write_bytes(volume.read_bytes()[: volume.stat().st_size // 2])
    else:
        labels = tmp_path / "data" / "legs.glb.txt"
        labels.write_bytes(b"glTF\x02\x00\x00\x00" + bytes(range(256)) * 40)
    code = main(["build", str(source), "--labels", str(labels), "-o", str(out), "--views", "1", "--size", "64"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and str(source if labels == table else labels) in err[0], err
    assert _digest(out) == before
    assert [p.name for p in out.parent.iterdir() if ".building-" in p.name or ".previous-" in p.name] == []


def test_two_builds_of_the_same_input_are_byte_identical(tmp_path: Path) -> None:
    volume, table = small_phantom(tmp_path / "data")
    first = _digest(build_site(volume, tmp_path / "a", labels=str(table)))
    second = _digest(build_site(volume, tmp_path / "b", labels=str(table)))
    kinds = {Path(name).suffix for name in first}
    assert {".html", ".css", ".json", ".webp", ".js", ".glb", ".gif"} <= kinds
    assert first == second


def test_sources_are_only_read(tmp_path: Path) -> None:
    volume, table = small_phantom(tmp_path / "data")
    before = _digest(tmp_path / "data")
    for path in (volume, table):
        path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    (tmp_path / "data").chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        build_site(volume, tmp_path / "site", labels=str(table))
    finally:
        (tmp_path / "data").chmod(stat.S_IRWXU)
    assert _digest(tmp_path / "data") == before


HOSTILE = {
    "Tibialis anterior Left": "<script>alert('x')</script>",
    "Tibialis anterior Right": "../../../../../evil",
    "Tibia Left": 'Knochen "A" & Ü – ñ',
}


def test_hostile_label_names_are_escaped_and_write_nothing_outside(tmp_path: Path) -> None:
    volume, table = small_phantom(tmp_path / "data", names=HOSTILE)
    out = build_site(volume, tmp_path / "site", labels=str(table))
    for page in out.rglob("*.html"):
        html = page.read_text()
        assert "<script>alert" not in html, page
    home = (out / "index.html").read_text()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in home
    assert "../../../../../evil" in home  # shown as text, used for nothing else
    assert "Knochen &#34;A&#34; &amp; Ü – ñ" in home
    expected = {"data", "site", ".site.muscle-atlas-cache"}
    assert {p.name for p in tmp_path.iterdir()} == expected
    assert not any(p.name == "evil" for p in tmp_path.parent.rglob("evil"))


# --- atlas projects ---------------------------------------------------------------------------------


def test_new_writes_a_project_file_that_builds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    volume, table = small_phantom(tmp_path / "data")
    assert main(["new", str(tmp_path / "project")]) == 0
    project = tmp_path / "project" / "atlas.toml"
    text = project.read_text()
    text = text.replace('path = "segmentation.nii.gz"', f'path = "{volume}"')
    text = text.replace('labels = ""', f'labels = "{table}"')
    text = text.replace('title = "Muscle atlas"', 'title = "Calf atlas of our lab"')
    text = text.replace("views = 16", "views = 4").replace("size = 800", "size = 96").replace("ssaa = true", "ssaa = false")
    text = text.replace("exclude = []", 'exclude = ["leg/tibialis-anterior"]')
    project.write_text(text)
    assert main(["build", "--config", str(project), "--title", "Flag wins"]) == 0
    site = tmp_path / "project" / "site"
    home = (site / "index.html").read_text()
    assert "Flag wins" in home and "Calf atlas of our lab" not in home
    assert (site / "muscle/leg/soleus/index.html").is_file()
    assert not (site / "muscle/leg/tibialis-anterior").exists()  # excluded: context only
    assert main(["new", str(tmp_path / "project")]) == 2  # never overwrites


def test_every_project_error_is_reported_at_once_before_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "atlas.toml"
    project.write_text(
        '[atlas]\ntitle = 3\n[source]\npath = "missing.nii.gz"\n'
        '[render]\nviews = 0\nsize = "big"\ncolour = "red"\nhighlight = "red"\n'
        '[output]\nformat = "pdf"\n[extra]\nx = 1\n'
    )
    assert main(["build", "--config", str(project)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    keys = ("atlas.title", "source.path", "render.views", "render.size", "render.colour", "render.highlight",
            "output.format", "extra")  # fmt: skip
    for key in keys:
        assert key in err, key
    assert not (tmp_path / "site").exists()
