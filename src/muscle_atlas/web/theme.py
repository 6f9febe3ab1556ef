"""The sites' look: the one Jinja environment, the templates, the styles, the script and the icon."""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

import jinja2

ASSETS = "assets/"
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><path d="M10 3c6 4 9 12 7 26h-4C15 17 12 9 10 3z"'
    ' fill="#c8102e"/><path d="M20 3c-2 6-2 14 1 26h-3c-3-12-2-20 2-26z" fill="#8a0a1f"/></svg>\n'
)


def environment() -> jinja2.Environment:
    """The one Jinja environment; autoescaping is on for every template."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("muscle_atlas.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def templates() -> resources.abc.Traversable:
    """The folder of the templates."""
    return resources.files("muscle_atlas.web") / "templates"


def static() -> resources.abc.Traversable:
    """The folder of the static files: ``site.css``, ``site.js`` and ``vendor/``."""
    return resources.files("muscle_atlas.web") / "static"


def write_text(path: Path, text: str) -> None:
    """Write a page or an asset (UTF-8), making its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def write_theme(out: Path) -> None:
    """The styles, the script and the icon every page links, into ``out/assets/``."""
    for name in ("site.css", "site.js"):
        write_text(out / ASSETS / name, (static() / name).read_text(encoding="utf-8"))
    write_text(out / ASSETS / "favicon.svg", FAVICON)


def link(asset: str | Path, path: str | Path) -> None:
    """Hard-link a rendered file into the site (a copy where links are impossible)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(asset, target)
    except OSError:
        shutil.copyfile(asset, target)
