"""The choices the command line and ``atlas.toml`` offer, defined once (light: the command line's
parser reads them before any work starts). Render choices are with ``render.settings``."""

from __future__ import annotations

UNITS = ("auto", "mm", "cm", "m")  # a mesh source's units; auto: from the anatomy
ORIENTATION = "auto"  # the default frame: from the anatomy (else "header", or a code such as LPS)
FORMATS = ("html", "jekyll")  # the HTML site (default), or Jekyll pages in the reference's URL space
RENDER_MODES = ("none", "reference", "all")  # a study's 3D atlases: none, the reference group's first subject, all
