"""``--format jekyll``: pages and assets in the muscle-atlas.org Jekyll site's own URL space.

Every page is the reference's source file (``pages/muscles/muscle_leg-soleus.md``) with exactly its
front-matter keys (layout, permalink, title, subheadline, header, tags, images, gallery) and its
values: permalink, title, tags, image_id and image_name as the reference names them
(``site.reference``). The body is the reference's too: our description, the Back link (limbs and
regions to ``/muscle/``, every other page to its region), the nested list of the page's subtree
in the reference's order and words, limited to the pages exported, then the page-image and
gallery includes. Assets are named as the reference names them, below its ``urlimg``
(``assets/images/``): ``muscles/gif/Leg-Soleus.gif`` with ``.mp4`` beside it,
``muscles/png/Leg-Soleus-1.png`` and ``-1-thumb.png`` (only the page's first side view is
rendered, as PNG; no 3D model, which the reference's pages do not show). The
``/muscle/`` root page (``pages/muscle.md``) lists the limbs and regions. Where the reference's
lists link a page by another permalink than its own (the scapular part of the deltoid), a plain
redirect page at that permalink makes the link resolve, without Jekyll plugins.
"""

from __future__ import annotations

from pathlib import Path

from muscle_atlas.anatomy.tree import Structure
from muscle_atlas.errors import AtlasError
from muscle_atlas.site.atlas import AtlasWriter, Page
from muscle_atlas.site.reference import ROOT, markdown_list, name_of, page_list, redirect_html
from muscle_atlas.web.theme import link
from muscle_atlas.yamlio import quote

ROOT_FILE = "pages/muscle.md"
REDIRECTS = "pages/muscles/redirects"
IMAGES = "assets/images"  # the reference's ``urlimg``: image names are relative to it


def _liquid_safe(text: str) -> str:
    """Text that Jekyll shows as it is (no Liquid tags run from our data)."""
    return f"{{% raw %}}{text}{{% endraw %}}" if "{{" in text or "{%" in text else text


class JekyllWriter(AtlasWriter):
    def _present(self) -> dict[int, Structure]:
        return {p.structure.code: p.structure for p in self.atlas.structure_pages if p.structure is not None}

    def front_matter(self, page: Page) -> str:
        name = name_of(page.structure)
        title = name.title
        lines = [
            "---", "", "layout: page", f"permalink: {name.permalink}", "",
            f"title: {quote(title)}", "subheadline: 'Images and description.'", "", "header: no", "",
            f"tags: {name.tags}", "",
        ]  # fmt: skip
        if page.primary:
            lines += [
                "images:",
                f"  - image_id: {quote(name.image_id)}",
                f"    image_name: {quote(name.image_name)}",
                f"    image_title: {quote(title)}",
                f"    image_alt: {quote(title)}",
                "",
                "gallery:",
            ]
            for index in range(1, self.atlas.views + 1):
                caption = quote(f"{title} - orientation {index}")
                lines += [f"  - image_url: muscles/png/{name.base}-{index}.png", f"    caption: {caption}",
                          f"    title: {caption}"]  # fmt: skip
            lines.append("")
        lines += ["---", ""]
        return "\n".join(lines)

    def body(self, page: Page, present: dict[int, Structure] | None = None) -> str:
        s = page.structure
        name = name_of(s)
        parts = []
        if s.description:
            parts.append(_liquid_safe(s.description.replace("\n", " ")))
        parts.append(f"[Back››]({name.back})")
        items = page_list(s, present if present is not None else self._present())
        if items:
            parts.append(markdown_list(items))
        if page.primary:
            parts += [f'{{% include page-image im_id="{name.image_id}" %}}', "{% include gallery %}"]
        parts.append(f"<small>{_liquid_safe(self.provenance.html())}</small>")
        return "\n\n".join(parts) + "\n"

    def root_page(self, present: dict[int, Structure]) -> str:
        """``/muscle/``: the limbs, each with its regions (the reference lists its limb pages here)."""
        lines = []
        for page in self.atlas.structure_pages:
            if page.kind != "limb":
                continue
            limb = name_of(page.structure)
            lines.append(f"- [{limb.text}]({limb.permalink})")
            for _, region in page_list(page.structure, present)[1:]:
                if region.kind == "region":
                    lines.append(f"  - [{region.text}]({region.linked_as})")
        front = ["---", "", "layout: page", f"permalink: {ROOT}", "", "title: 'Muscles of the human body'",
                 "subheadline: 'Images and description.'", "", "header: no", "", "---", ""]  # fmt: skip
        body = ["Currently the following muscle overviews are available:", "\n".join(lines),
                f"<small>{_liquid_safe(self.provenance.html())}</small>"]  # fmt: skip
        return "\n".join(front) + "\n" + "\n\n".join(body) + "\n"

    def write(self, out: Path) -> list[str]:
        written = []
        present = self._present()
        files: dict[str, str] = {}
        for page in self.atlas.structure_pages:
            name = name_of(page.structure)
            if name.file in files:  # two structures under one reference name: never overwrite silently
                raise AtlasError(f"Jekyll export: {page.path} and {files[name.file]} both map to {name.permalink}")
            files[name.file] = page.path
            target = out / name.file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(self.front_matter(page) + "\n" + self.body(page, present), encoding="utf-8")
            written.append(name.permalink)
            if page.primary:
                self._assets(page, out)
            if name.linked_as != name.permalink:
                self._redirect(out, name.linked_as, name.permalink, name.title)
        (out / ROOT_FILE).parent.mkdir(parents=True, exist_ok=True)
        (out / ROOT_FILE).write_text(self.root_page(present), encoding="utf-8")
        written.append(ROOT)
        return written

    def _redirect(self, out: Path, old: str, new: str, title: str) -> None:
        """A plain page at ``old`` that sends visitors on to ``new`` (no plugin needed)."""
        slug = old.strip("/").replace("/", "_")
        front = f"---\nlayout: null\npermalink: {old}\nsitemap: false\n---\n"
        html = redirect_html("{{ site.baseurl }}" + new, "{{ site.url }}{{ site.baseurl }}" + new, title)
        target = out / REDIRECTS / f"{slug}.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(front + html, encoding="utf-8")

    def _assets(self, page: Page, out: Path) -> None:
        stem = f"{page.stem}-{page.primary}"
        name = name_of(page.structure).base
        muscles = out / IMAGES / "muscles"
        for ext in ("gif", "mp4"):
            link(self.renders / f"{stem}.{ext}", muscles / "gif" / f"{name}.{ext}")
        for index in range(1, self.atlas.views + 1):
            link(self.renders / f"{stem}-{index}.png", muscles / "png" / f"{name}-{index}.png")
            link(self.renders / f"{stem}-{index}-thumb.png", muscles / "png" / f"{name}-{index}-thumb.png")
