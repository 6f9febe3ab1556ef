"""Write the atlas as a self-contained static website (no CDN, relative links everywhere).

The layout, contexts, search index, number formats and plots are the site core's
(:mod:`muscle_atlas.web`); this module assembles the atlas's pages from them.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from urllib.parse import urlparse

from markupsafe import Markup

from muscle_atlas.anatomy.tree import load_tree
from muscle_atlas.site.atlas import SIDE_NAMES, Atlas, AtlasWriter, Page, SiteOptions
from muscle_atlas.site.provenance import Provenance
from muscle_atlas.web import context
from muscle_atlas.web.context import PageContext, SiteContext, cell, page_context, site_context
from muscle_atlas.web.format import dash_or, file_size
from muscle_atlas.web.search import SearchEntry, write_search_index
from muscle_atlas.web.theme import ASSETS, environment, link, static, write_text, write_theme

RENDERS = "assets/renders/"
DRACO = "assets/vendor/draco/"  # the Draco decoder the 3D viewer loads for the compressed models
DRACO_FILES = ("draco_wasm_wrapper.js", "draco_decoder.wasm", "LICENSE.txt")
SIDE_LABELS = {"both": "both sides", "left": "left", "right": "right", "none": "model"}
FACT_LABELS = (
    ("latin", "Latin name"), ("origin", "Origin"), ("insertion", "Insertion"), ("action", "Action"),
    ("innervation", "Innervation"), ("arterial_supply", "Arterial supply"),
)  # fmt: skip
STRUCTURE_KINDS = {"limb": "Limb", "region": "Region", "group": "Group", "muscle": "Muscle", "head": "Head or part"}


class SiteWriter(AtlasWriter):
    def __init__(self, atlas: Atlas, provenance: Provenance, options: SiteOptions, renders: Path) -> None:
        super().__init__(atlas, provenance, options, renders)
        self.env = environment()
        self.measures_by_path: dict[str, list[dict]] = {}
        for row in atlas.measures:
            self.measures_by_path.setdefault(row["structure"], []).append(row)
        # A structure shown in two regions (trapezius under shoulder and back) has one set of
        # numbers, listed under both places.
        self.places: dict[str, list[str]] = {}
        for structure in load_tree():
            if structure.same_as:
                canonical = load_tree().by_code[structure.same_as].path
                self.places.setdefault(canonical, [canonical]).append(structure.path)
                if canonical in self.measures_by_path:
                    self.measures_by_path[structure.path] = self.measures_by_path[canonical]

    # --- URLs ------------------------------------------------------------------------------------

    @staticmethod
    def url(page: Page, target: str) -> str:
        """Relative URL from ``page`` to ``target`` (a path below the site root)."""
        return context.url(page.path, target)

    # --- context ---------------------------------------------------------------------------------

    def site_context(self, page: Page) -> SiteContext:
        nav = []
        for limb in [p for p in self.atlas.structure_pages if p.kind == "limb"]:
            nav.append({
                "name": limb.structure.name, "url": self.url(page, limb.path),
                "children": [{"name": c.structure.name, "url": self.url(page, c.path)}
                             for c in limb.children if c.kind == "region"],
            })  # fmt: skip
        return site_context(page.path, self.options.title, nav, self.provenance.html(),
                            self.options.notice or self.provenance.notice, self.atlas.quantities is not None,
                            self._credits(page))  # fmt: skip

    def _credits(self, page: Page) -> list[dict]:
        """The licences of the code the site ships for its 3D viewer (footer links)."""
        if not any(self.atlas.model_of(p, v) for p in self.atlas.structure_pages for v in p.variants):
            return []
        return [{"name": "model-viewer", "url": self.url(page, ASSETS + "vendor/model-viewer-LICENSE.txt")},
                {"name": "Draco", "url": self.url(page, DRACO + "LICENSE.txt")}]  # fmt: skip

    def _render(self, page: Page, name: str, variant: str, index: int, thumb: bool = False) -> str:
        suffix = f"-thumb.{self.atlas.thumb_format}" if thumb else f".{self.atlas.image_format}"
        return self.url(page, f"{RENDERS}{name}-{variant}-{index}{suffix}")

    def _side_view(self, page: Page, variant: str) -> dict:
        """One side variant of a page: its turntable, gallery and place in its scene's model."""
        stem = f"{page.stem}-{variant}"
        side = SIDE_NAMES[variant]
        alt = page.title + (f", {side}" if side else "")
        own_gallery = self.atlas.has_gallery(page, variant)
        video = {
            "mp4": self.url(page, f"{RENDERS}{stem}.mp4"),
            "gif": self.url(page, f"{RENDERS}{stem}.gif") if own_gallery else None,
            "poster": self.url(page, RENDERS + self.atlas.poster_file(page, variant)),
            "width": self.options.size, "height": self.options.size, "alt": f"{alt}, turning",
        }  # fmt: skip
        model = None
        info = self.atlas.model_of(page, variant)
        if info is not None:
            region = page.structure.region or page.structure
            model = {
                "glb": self.url(page, f"{RENDERS}{info['model']}.glb"), "file": f"{info['model']}.glb",
                "highlight": json.dumps(info["highlight"], separators=(",", ":"), sort_keys=True),
                "poster": video["poster"], "alt": f"3D model: {alt}",
                "scene": f"the {region.name.lower()}" + (f", {side}" if side else ""),
            }  # fmt: skip
        gallery = []
        for index in range(1, self.atlas.views + 1 if own_gallery else 1):
            # The first view keeps the reference's captions; the others name their side.
            caption = f"{page.title if variant == page.primary else alt} - orientation {index}"
            gallery.append({
                "full": self._render(page, page.stem, variant, index),
                "thumb": self._render(page, page.stem, variant, index, thumb=True),
                "caption": caption, "title": caption, "width": self.options.thumb, "height": self.options.thumb,
            })  # fmt: skip
        return {"side": variant, "name": SIDE_LABELS[variant], "video": video, "model": model, "gallery": gallery}

    @staticmethod
    def _crumbs(page: Page) -> list[tuple[str, str]]:
        chain = []
        node: Page | None = page
        while node is not None and node.structure is not None:
            chain.append(node)
            node = node.parent
        return [("Muscles", "muscle/"), *((p.structure.name, p.path) for p in reversed(chain))]

    def _card(self, page: Page, child: Page) -> dict:
        thumb = self._render(page, child.stem, child.primary, 1, thumb=True) if child.primary else None
        return {
            "name": child.structure.name, "url": self.url(page, child.path), "kind": STRUCTURE_KINDS[child.kind],
            "thumb": thumb, "summary": _first_sentence(child.structure.description),
            "width": self.options.thumb, "height": self.options.thumb,
        }  # fmt: skip

    def _measures(self, page: Page) -> dict | None:
        rows = self.measures_by_path.get(page.structure.path)
        if not rows:
            return None
        out = []
        for row in rows:
            side = f" ({row['side']})" if row["side"] != "none" else ""
            out += [
                {"label": f"Volume{side}", "value": dash_or(row["volume_mL"], "{:.1f} mL")},
                {"label": f"Length{side}", "value": f"{row['length_mm']:.0f} mm"},
                {"label": f"Maximal cross-section{side}", "value": dash_or(row["max_cross_section_cm2"], "{:.1f} cm²")},
                {"label": f"Surface area{side}", "value": f"{row['surface_area_cm2']:.0f} cm²"},
            ]
        asymmetry = next((r["asymmetry_volume_pct"] for r in rows if r["asymmetry_volume_pct"] is not None), None)
        if asymmetry is not None:
            out.append({"label": "Volume asymmetry (left − right)", "value": f"{asymmetry:+.1f} %"})
        return {"rows": out}

    def _table(self, page: Page) -> dict | None:
        region_path = page.structure.path
        rows = []
        for row in self.atlas.measures:
            places = self.places.get(row["structure"], [row["structure"]])
            here = [p for p in places if p == region_path or p.startswith(region_path + "/")]
            if not here:
                continue
            target = self.atlas.pages.get(f"muscle/{here[0]}/")
            rows.append([
                cell(row["name"], url=self.url(page, target.path) if target is not None else None), cell(row["side"]),
                cell(dash_or(row["volume_mL"], "{:.1f}"), _sortable(row["volume_mL"])),
                cell(f"{row['length_mm']:.0f}", row["length_mm"]),
                cell(dash_or(row["max_cross_section_cm2"], "{:.1f}"), _sortable(row["max_cross_section_cm2"])),
                cell(f"{row['surface_area_cm2']:.0f}", row["surface_area_cm2"]),
                cell("—" if row["asymmetry_volume_pct"] is None else f"{row['asymmetry_volume_pct']:+.1f}",
                     _sortable(row["asymmetry_volume_pct"])),
            ])  # fmt: skip
        if not rows:
            return None
        return {
            "caption": f"Measurements of the {page.structure.name.lower()} structures in this data set",
            "columns": ["Structure", "Side", "Volume (mL)", "Length (mm)", "Max. cross-section (cm²)",
                        "Surface area (cm²)", "Asymmetry (%)"],
            "rows": rows,
        }  # fmt: skip

    def _siblings(self, page: Page) -> tuple[dict | None, dict | None]:
        if page.parent is None:
            return None, None
        siblings = page.parent.children
        index = siblings.index(page)
        prev = siblings[index - 1] if index > 0 else None
        nxt = siblings[index + 1] if index + 1 < len(siblings) else None
        as_link = lambda p: {"name": p.structure.name, "url": self.url(page, p.path)} if p else None  # noqa: E731
        return as_link(prev), as_link(nxt)

    def page_context(self, page: Page) -> PageContext:
        s = page.structure
        facts = []
        if s.facts:
            facts = [{"label": label, "value": getattr(s.facts, key)} for key, label in FACT_LABELS]
            facts.append({"label": "Code", "value": str(s.code)})
            if s.facts.fma_id is not None:
                facts.append({"label": "FMA ID", "value": f"FMA:{s.facts.fma_id}"})
            if s.facts.abbreviations:
                facts.append({"label": "Abbreviations", "value": ", ".join(s.facts.abbreviations)})
            if s.facts.synonyms:
                facts.append({"label": "Also called", "value": ", ".join(s.facts.synonyms)})
        else:
            facts = [{"label": "Code", "value": str(s.code)}]
        sides = [self._side_view(page, v) for v in page.variants]
        primary = sides[0] if sides else None
        video = primary["video"] if primary else None
        model = primary["model"] if primary else None
        gallery: list[dict] = primary["gallery"] if primary else []
        downloads: list[dict] = []
        for view in sides:
            if view["model"] is not None and view["model"]["glb"] not in [d["url"] for d in downloads]:
                downloads.append({"label": f"3D model, {view['model']['scene']} (GLB)", "url": view["model"]["glb"],
                                  "size": file_size(self.renders / view["model"]["file"])})  # fmt: skip
            kind = "gif" if view["video"]["gif"] else "mp4"
            downloads.append({"label": f"Animation, {view['name']} ({kind.upper()})", "url": view["video"][kind],
                              "size": file_size(self.renders / f"{page.stem}-{view['side']}.{kind}")})  # fmt: skip
        if primary is not None:
            ext, shown = self.atlas.image_format, self.atlas.poster_of(page, primary["side"])
            downloads.append({"label": f"Orientation {shown} image ({'WebP' if ext == 'webp' else 'PNG'})",
                              "url": video["poster"],
                              "size": file_size(self.renders / self.atlas.poster_file(page, primary["side"]))})  # fmt: skip
        qmri_part = self._qmri(page) if page.kind not in ("region", "limb") else None  # a group may have labels
        if qmri_part is not None:
            downloads += qmri_part["downloads"]
        region = s.region
        back_page = self.atlas.page_of(region) if region is not None and region is not s else page.parent
        prev, nxt = self._siblings(page)
        return page_context(
            page.path, page.kind, page.title, self._crumbs(page), self.options.canonical_base,
            subheadline="Images and description.",
            tags=[region.slug] if region is not None else [s.slug],
            description=s.description,
            latin=s.facts.latin if s.facts else None,
            facts=facts,
            video=video,
            model=model,
            gallery=gallery,
            sides=sides if len(sides) > 1 else [],  # the side switch's views, the first one shown
            draco_url=self.url(page, DRACO),
            measures=self._measures(page) if page.kind in ("muscle", "head") else None,
            children=[self._card(page, c) for c in page.children],
            table=self._table(page) if page.kind in ("region", "limb") else None,
            qmri=qmri_part,
            qtable=self._qmri_table(page) if page.kind in ("region", "limb") else None,
            downloads=downloads,
            prev=prev,
            next=nxt,
            back={"name": back_page.structure.name, "url": self.url(page, back_page.path)} if back_page else None,
            jsonld=self._jsonld(page, gallery),
        )  # fmt: skip

    # --- quantitative MRI -------------------------------------------------------------------------

    def _qmri(self, page: Page) -> dict | None:
        """The muscle page's quantitative-MRI section: card, map turntable, histograms, profiles."""
        q = self.atlas.quantities
        if q is None:
            return None
        from muscle_atlas.site import qmri

        path, name = page.structure.path, page.structure.name
        card = qmri.card(q, path, name)
        if card is None:
            return None
        downloads = []
        surface = qmri.surface_figure(q, path, "qmri", name, self._colour_stops())
        if surface is not None:
            stem = surface["name"]
            surface.update({
                "mp4": self.url(page, f"{RENDERS}{stem}.mp4"),
                "poster": self.url(page, f"{RENDERS}{stem}-1.{self.atlas.image_format}"),
                "glb": self.url(page, f"{RENDERS}{stem}.glb"),
                "width": self.options.size, "height": self.options.size,
            })  # fmt: skip
            downloads.append({"label": f"3D model coloured by {surface['quantity'].lower()} (GLB)", "url": surface["glb"],
                              "size": file_size(self.renders / f"{stem}.glb")})  # fmt: skip
        downloads += qmri.downloads(lambda target: self.url(page, target))
        return {
            "card": card, "surface": surface, "histograms": qmri.histograms(q, path, "qmri", name),
            "profiles": qmri.profiles(q, path, "qmri", name), "methods_url": self.url(page, "methods/"),
            "downloads": downloads,
        }  # fmt: skip

    def _qmri_table(self, page: Page) -> dict | None:
        q = self.atlas.quantities
        if q is None:
            return None
        from muscle_atlas.site import qmri

        def page_of(path: str) -> Page | None:
            return self.atlas.pages.get(f"muscle/{path}/")

        def name_of(path: str) -> str:
            found = page_of(path)
            return found.structure.name if found is not None and found.structure is not None else path

        def url_of(path: str) -> str | None:
            return self.url(page, f"muscle/{path}/") if page_of(path) is not None else None

        table = qmri.region_table(q, page.structure.path, self.places, name_of, url_of, page.structure.name)
        if table is not None:
            table["methods_url"] = self.url(page, "methods/")
        return table

    def _colour_stops(self) -> list[tuple[float, str]]:
        if not hasattr(self, "_stops"):
            from muscle_atlas.render.surfacemap import gradient_stops

            self._stops = gradient_stops()
        return self._stops

    def _jsonld(self, page: Page, gallery: list[dict]) -> Markup:
        s = page.structure
        data: dict = {
            "@context": "https://schema.org",
            "@type": "AnatomicalStructure",
            "name": s.name,
            "url": self.options.address(page.path),
            "description": s.description,
            "identifier": str(s.code),
            "isPartOf": {"@type": "WebSite", "name": self.options.title, "url": self.options.address("")},
        }
        if s.facts:
            data["alternateName"] = [s.facts.latin, *s.facts.synonyms, *s.facts.abbreviations]
            if s.facts.fma_id is not None:
                data["code"] = {"@type": "MedicalCode", "codeValue": str(s.facts.fma_id), "codingSystem": "FMA"}
        if s.region is not None and s.region is not s:
            data["bodyLocation"] = s.region.name
        if page.children:
            data["subStructure"] = [{"@type": "AnatomicalStructure", "name": c.structure.name} for c in page.children]
        if gallery:
            data["image"] = self.options.address(RENDERS) + self.atlas.poster_file(page, page.primary)
        if self.provenance.licence_url:
            data["license"] = self.provenance.licence_url
        text = json.dumps(data, ensure_ascii=False, sort_keys=True)
        # JSON with every "<" escaped cannot close the <script> element it sits in.
        return Markup(text.replace("<", "\\u003c"))  # noqa: S704

    # --- writing ---------------------------------------------------------------------------------

    def write(self, out: Path) -> list[str]:
        """Write every page and asset into ``out`` (an empty folder); return the page paths."""
        written = []
        page_template = self.env.get_template("page.html")
        for page in self.atlas.structure_pages:
            html = page_template.render(site=self.site_context(page), page=self.page_context(page))
            self._write(out / page.path / "index.html", html)
            written.append(page.path)
        home = self.atlas.pages[""]
        self._write(out / "index.html", self.env.get_template("home.html").render(
            site=self.site_context(home), page=self._home_context(home)))  # fmt: skip
        index = self.atlas.pages["muscle/"]
        self._write(out / "muscle" / "index.html", self.env.get_template("index.html").render(
            site=self.site_context(index), page=self._simple_context(index, tree=self._tree(index), data_files=[
                {"url": self.url(index, f"data/{name}"), "name": name}
                for name in ("measures.csv", "measures.json") if (self.renders.parent / name).exists()
            ])))  # fmt: skip
        search = self.atlas.pages["search/"]
        self._write(out / "search" / "index.html", self.env.get_template("search.html").render(
            site=self.site_context(search), page=self._simple_context(search)))  # fmt: skip
        redirects: dict[str, str] = {}
        if self.options.reference_redirects:  # old muscle-atlas.org addresses lead on to our pages
            from muscle_atlas.site.reference import write_html_redirects

            redirects = write_html_redirects(self.atlas.structure_pages, set(self.atlas.pages), out,
                                             self.options.address(""), self.provenance.html())  # fmt: skip
        # A server shows 404.html at any depth: its links start from the site's own root path.
        missing = Page(None, "404", "", "Page not found")
        root = urlparse(self.options.address("")).path or "/"
        site_404 = self.site_context(missing).from_root(root)
        context = self._simple_context(missing, redirects_url=root + "redirects.json" if redirects else None)
        context.url, context.breadcrumbs = "", [{"name": "Home", "url": root}]
        self._write(out / "404.html", self.env.get_template("404.html").render(site=site_404, page=context))
        written += ["", "muscle/", "search/"]
        if self.atlas.quantities is not None:
            from muscle_atlas.site import qmri

            methods = self.atlas.pages["methods/"]
            context = self._simple_context(methods, methods=qmri.methods(
                self.atlas.quantities, lambda target: self.url(methods, target),
                (self.renders.parent / "measures.csv").exists()))  # fmt: skip
            self._write(out / "methods" / "index.html", self.env.get_template("methods.html").render(
                site=self.site_context(methods), page=context))  # fmt: skip
            written.append("methods/")
        self._write_static(out)
        self._write_data(out, written)
        return written

    def _simple_context(self, page: Page, **extra: object) -> PageContext:
        title = extra.pop("title", page.title)
        base = {
            "tags": [], "latin": None, "facts": [], "video": None, "model": None, "gallery": [], "measures": None,
            "children": [], "table": None, "downloads": [], "prev": None, "next": None, "back": None, "intro": "",
            "tree": [], "qmri": None, "qtable": None, "methods": None, "sides": [], "draco_url": "",
        }  # fmt: skip
        crumbs = [(page.title, page.path)] if page.path else []
        return page_context(page.path, page.kind, str(title), crumbs, self.options.canonical_base, **{**base, **extra})

    def _home_context(self, page: Page) -> dict:
        tops = [p for p in self.atlas.structure_pages if p.kind == "region"] or [
            p for p in self.atlas.structure_pages if p.kind == "limb"
        ]
        intro = self.options.intro or (
            f"This atlas shows {sum(1 for p in self.atlas.structure_pages if p.kind in ('muscle', 'head'))} "
            "muscles and muscle parts reconstructed from a segmentation: a turning 3D view, pictures from "
            f"{self.atlas.views} directions, the anatomy and measurements of each."
        )
        if self.atlas.unidentified:
            labels = ", ".join(f"{m.key} ({m.name})" if m.name != m.key else m.key for m in self.atlas.unidentified)
            intro += (
                f"\n\nUnidentified labels, drawn as context but without a page: {labels}. "
                "Name them with a mapping file (--map) to give them pages."
            )
        context = [{"kind": kind, "names": names} for kind, names in _context_by_kind(self.atlas.matches)]
        return self._simple_context(page, title=self.options.title, intro=intro, context_kinds=context,
                                    children=[self._card(page, c) for c in tops])  # fmt: skip

    def _tree(self, page: Page) -> list[dict]:
        def node(p: Page) -> dict:
            return {"name": p.structure.name, "url": self.url(page, p.path), "kind": STRUCTURE_KINDS[p.kind],
                    "children": [node(c) for c in p.children]}  # fmt: skip

        return [node(p) for p in self.atlas.structure_pages if p.parent is None]

    def _write(self, path: Path, text: str) -> None:
        write_text(path, text)

    def _write_static(self, out: Path) -> None:
        write_theme(out)
        vendor = out / ASSETS / "vendor"
        vendor.mkdir(parents=True, exist_ok=True)
        for name in ("model-viewer.min.js", "model-viewer-LICENSE.txt"):
            (vendor / name).write_bytes((static() / "vendor" / name).read_bytes())
        renders = out / RENDERS
        names = self.atlas.render_files()
        for name in sorted(names):
            link(self.renders / name, renders / name)
        if any(n.endswith(".glb") for n in names):  # the models are Draco-compressed
            (out / DRACO).mkdir(parents=True, exist_ok=True)
            for name in DRACO_FILES:
                (out / DRACO / name).write_bytes((static() / "vendor" / "draco" / name).read_bytes())

    def _write_data(self, out: Path, written: list[str]) -> None:
        index = []
        for page in self.atlas.structure_pages:
            s = page.structure
            words = [s.name, STRUCTURE_KINDS[page.kind], s.description]
            if s.facts:
                words += [s.facts.latin, *s.facts.synonyms, *s.facts.abbreviations, s.facts.origin,
                          s.facts.insertion, s.facts.action, s.facts.innervation, s.facts.arterial_supply]  # fmt: skip
            index.append(SearchEntry(page.title, page.path, page.kind, " ".join(words)))
        write_search_index(out, index)
        urls = "".join(f"  <url><loc>{escape(self.options.address(p), quote=False)}</loc></url>\n" for p in sorted(written))
        self._write(out / "sitemap.xml", '<?xml version="1.0" encoding="UTF-8"?>\n'
                    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + urls + "</urlset>\n")  # fmt: skip
        self._write(out / "robots.txt", f"User-agent: *\nAllow: /\nSitemap: {self.options.address('sitemap.xml')}\n")
        data = out / "data"
        data.mkdir(parents=True, exist_ok=True)
        for name in ("measures.csv", "measures.json"):
            source = self.renders.parent / name
            if source.exists():
                (data / name).write_bytes(source.read_bytes())
        if self.atlas.quantities is not None:
            from muscle_atlas.site import qmri

            qmri.copy_data(self.atlas.quantities, data)


def _first_sentence(text: str) -> str:
    head, _, _ = text.partition(". ")
    return head if head.endswith(".") else head + "."


def _sortable(value: float | None) -> float | str:
    return "" if value is None else value


CONTEXT_KINDS = {
    "muscle": "Muscles outside the atlas tree", "bone": "Bones", "cartilage": "Cartilages",
    "ligament": "Ligaments", "tendon": "Tendons", "fascia": "Fasciae", "nerve": "Nerves",
    "artery": "Arteries", "vein": "Veins", "vessel": "Vessels",
}  # fmt: skip


def _context_by_kind(matches: list) -> list[tuple[str, list[str]]]:
    """What else the data holds, by kind: muscles outside the tree first (readable names)."""
    found: dict[str, set[str]] = {}
    for m in matches:
        if m.status == "context" and m.kind in CONTEXT_KINDS:
            side = f" ({m.side})" if m.side else ""
            found.setdefault(m.kind, set()).add(f"{m.structure or m.name}{side}")
    return [(CONTEXT_KINDS[k], sorted(found[k])) for k in CONTEXT_KINDS if k in found]
