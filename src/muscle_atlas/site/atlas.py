"""The atlas model: every page, its URL, titles, pictures, facts and numbers.

Gather first, then write: this module builds the whole atlas in memory from the render result
and the structure tree, so every page sees the same consistent data; ``site.pages`` and
``site.jekyll`` only write it out (each an :class:`AtlasWriter`, set by :class:`SiteOptions`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from muscle_atlas.anatomy.match import MatchResult
from muscle_atlas.anatomy.tree import Structure, StructureTree, load_tree
from muscle_atlas.render.plan import POSTER_SUFFIX, has_gallery
from muscle_atlas.render.settings import thumb_format
from muscle_atlas.web.context import public_url

if TYPE_CHECKING:
    from muscle_atlas.site.provenance import Provenance
    from muscle_atlas.site.qmri import Quantities

VARIANT_ORDER = ("both", "left", "right", "none")
SIDE_NAMES = {"left": "left", "right": "right", "both": "both sides", "none": ""}


@dataclass
class Page:
    structure: Structure | None
    kind: str
    path: str  # below the site root, ending in "/": "muscle/leg/soleus/"
    title: str
    variants: list[str] = field(default_factory=list)  # turntables that exist, best first
    children: list[Page] = field(default_factory=list)
    parent: Page | None = None

    @property
    def depth(self) -> int:
        return self.path.count("/")

    @property
    def stem(self) -> str:
        """Render name prefix: ``leg-soleus``."""
        return self.structure.path.replace("/", "-") if self.structure else ""

    @property
    def primary(self) -> str | None:
        return self.variants[0] if self.variants else None


@dataclass
class Atlas:
    pages: dict[str, Page]  # by path
    structure_pages: list[Page]
    matches: list[MatchResult]
    measures: list[dict]
    views: int
    unidentified: list[MatchResult]
    quantities: Quantities | None = None  # quantitative maps, when the build was given some
    # Turntable name → {"model": its scene's GLB stem, "highlight": {label key: "#rrggbb"}}
    models: dict[str, dict] = field(default_factory=dict)
    image_format: str = "webp"  # of the stills and thumbnails
    # Turntable name → the still (1-based) in which its structure shows the most: the page opens on it.
    posters: dict[str, int] = field(default_factory=dict)

    def model_of(self, page: Page, variant: str) -> dict | None:
        return self.models.get(f"{page.stem}-{variant}")

    def poster_of(self, page: Page, variant: str) -> int:
        return self.posters.get(f"{page.stem}-{variant}", 1)

    def has_gallery(self, page: Page, variant: str) -> bool:
        """Whether the variant has stills, thumbnails and a GIF of its own (else it shares the
        Both view's gallery and has only a poster still and a video)."""
        return has_gallery(variant, page.variants)

    def poster_file(self, page: Page, variant: str) -> str:
        """The file name of the still the variant's page opens on."""
        stem = f"{page.stem}-{variant}"
        if not self.has_gallery(page, variant):
            return f"{stem}{POSTER_SUFFIX}.{self.image_format}"
        return f"{stem}-{self.poster_of(page, variant)}.{self.image_format}"

    @property
    def thumb_format(self) -> str:
        return thumb_format(self.image_format)

    def render_files(self) -> set[str]:
        """The files of the render cache that the HTML pages show or link."""
        ext, thumb = self.image_format, self.thumb_format
        names: set[str] = set()
        for page in self.structure_pages:
            for variant in page.variants:
                stem = f"{page.stem}-{variant}"
                names.add(f"{stem}.mp4")
                if self.has_gallery(page, variant):
                    names.add(f"{stem}.gif")
                    for i in range(1, self.views + 1):
                        names.update((f"{stem}-{i}.{ext}", f"{stem}-{i}-thumb.{thumb}"))
                else:
                    names.add(self.poster_file(page, variant))
                info = self.model_of(page, variant)
                if info is not None:
                    names.add(f"{info['model']}.glb")
        if self.quantities is not None:
            for info in self.quantities.surface_maps.values():
                names.update((f"{info['name']}-1.{ext}", *(f"{info['name']}.{e}" for e in ("mp4", "glb"))))
        return names

    def page_of(self, structure: Structure) -> Page | None:
        return self.pages.get(structure_path(structure))


def structure_path(structure: Structure) -> str:
    return f"muscle/{structure.path}/"


def title_of(structure: Structure) -> str:
    """The reference's form: "The soleus muscle of the leg"."""
    name = structure.name[0].lower() + structure.name[1:]
    region = structure.region
    where = f" of the {region.name.lower()}" if region is not None and region is not structure else ""
    if structure.kind == "limb":
        return f"The muscles of the {structure.name.lower()}"
    if structure.kind == "region":
        return f"The muscles of the {structure.name.lower()}"
    if structure.kind == "group":
        return f"The {name}{where}"
    if structure.kind == "head" and ", " in structure.name:
        muscle, part = structure.name.split(", ", 1)
        return f"The {part} of the {muscle.lower()} muscle{where}"
    if name.endswith(("muscle", "muscles")):
        return f"The {name}{where}"
    return f"The {name} muscle{where}"


def gather(tree: StructureTree | None, matches: list[MatchResult], turntables: list[str],
           measures: list[dict], views: int, quantities: Quantities | None = None,
           models: dict[str, dict] | None = None, image_format: str = "webp",
           posters: dict[str, int] | None = None) -> Atlas:  # fmt: skip
    """Pages for every structure present in the data, plus their ancestors."""
    tree = tree or load_tree()
    available: dict[str, list[str]] = defaultdict(list)  # stem → variants
    for name in turntables:
        stem, variant = name.rsplit("-", 1)
        available[stem].append(variant)
    present = {m.code for m in matches if m.status == "matched" and m.code is not None}
    # A structure shown in two regions (same_as) gets its page in both.
    codes = set(present) | {s.code for s in tree if s.same_as in present}
    for code in list(codes):
        codes.update(a.code for a in tree.by_code[code].ancestors())
    pages: dict[str, Page] = {}
    for structure in sorted((tree.by_code[c] for c in codes), key=lambda s: s.code):
        stem = structure.path.replace("/", "-")
        variants = sorted(available.get(stem, []), key=VARIANT_ORDER.index)
        page = Page(structure, structure.kind, structure_path(structure), title_of(structure), variants)
        pages[page.path] = page
    for page in pages.values():
        parent = page.structure.parent if page.structure else None
        if parent is not None and structure_path(parent) in pages:
            page.parent = pages[structure_path(parent)]
            page.parent.children.append(page)
    structure_pages = list(pages.values())
    pages[""] = Page(None, "home", "", "Muscle atlas")
    pages["muscle/"] = Page(None, "index", "muscle/", "All structures")
    pages["search/"] = Page(None, "search", "search/", "Search the atlas")
    if quantities is not None:
        pages["methods/"] = Page(None, "methods", "methods/", "Methods: quantitative MRI")
    unidentified = [m for m in matches if m.status in ("unmatched", "ambiguous")]
    return Atlas(pages, structure_pages, matches, measures, views, unidentified, quantities, models or {}, image_format,
                 posters or {})  # fmt: skip


@dataclass
class SiteOptions:
    title: str = "Muscle atlas"
    intro: str = ""
    base_url: str | None = None  # the public URL; without one, no canonical links (local addresses elsewhere)
    notice: str | None = None
    size: int = 800
    thumb: int = 200
    reference_redirects: bool = False  # also redirect pages at muscle-atlas.org's permalinks (site.reference)
    folder: str = ""  # where the site sits below its base URL ("atlas/<id>/" inside a study site)

    def address(self, path: str) -> str:
        """The absolute address of ``path`` (below the site root): sitemap, JSON-LD, redirects."""
        return public_url(self.base_url) + self.folder + path

    @property
    def canonical_base(self) -> str | None:
        """The base of the pages' canonical links: only a configured base URL."""
        return self.base_url + self.folder if self.base_url else None


class AtlasWriter:
    """What every output format writes from: the atlas, its provenance, options and renders."""

    def __init__(self, atlas: Atlas, provenance: Provenance, options: SiteOptions, renders: Path) -> None:
        self.atlas = atlas
        self.provenance = provenance
        self.options = options
        self.renders = renders
