"""``--format jekyll``: pages and assets shaped like the muscle-atlas.org Jekyll site.

Each page is Markdown with exactly the reference's front-matter keys (layout, permalink, title,
subheadline, header, tags, images, gallery) and body (description, Back link, the page-image
and gallery includes); assets are named as the reference names them
(``muscles/gif/Leg-Soleus.gif``, ``muscles/png/Leg-Soleus-1.png`` … and ``-N-thumb.png``, with
``.mp4``/``.webm`` beside the GIF), so the output drops into a Jekyll site of that shape.
"""

from __future__ import annotations

import re
from pathlib import Path

from muscle_atlas.site.atlas import Page
from muscle_atlas.site.html import AtlasWriter, link


def asset_name(page: Page) -> str:
    """``Leg-Soleus``, ``Leg-Gastrocnemius-Lateral-Head``, ``Leg``, ``Lower-Limb``."""
    s = page.structure
    words = []
    if s.region is not None and s.region is not s:
        words += s.region.name.split()
    words += re.split(r"[\s,]+", s.name)
    return "-".join(w[:1].upper() + w[1:] for w in (re.sub(r"[^A-Za-z0-9]", "", w) for w in words) if w)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class JekyllWriter(AtlasWriter):
    def front_matter(self, page: Page) -> str:
        s = page.structure
        name = asset_name(page)
        region = s.region or s
        lines = [
            "---", "", "layout: page", f"permalink: /{page.path}", "",
            f"title: {_quote(page.title)}", "subheadline: 'Images and description.'", "", "header: no", "",
            f"tags: {region.slug}", "",
        ]  # fmt: skip
        if page.primary:
            lines += [
                "images:",
                f"  - image_id: {_quote(s.slug)}",
                f"    image_name: {_quote(f'muscles/gif/{name}.gif')}",
                f"    image_title: {_quote(page.title)}",
                f"    image_alt: {_quote(page.title)}",
                "",
                "gallery:",
            ]
            for index in range(1, self.atlas.views + 1):
                caption = _quote(f"{page.title} - orientation {index}")
                lines += [f"  - image_url: muscles/png/{name}-{index}.png", f"    caption: {caption}",
                          f"    title: {caption}"]  # fmt: skip
            lines.append("")
        lines += ["---", ""]
        return "\n".join(lines)

    def body(self, page: Page) -> str:
        s = page.structure
        region = s.region if s.region is not None and s.region is not s else None
        back = self.atlas.page_of(region) if region else page.parent
        parts = [s.description.replace("\n", " ")]
        if back is not None:
            parts.append(f"[Back››](/{back.path})")
        if page.primary:
            parts += [f'{{% include page-image im_id="{s.slug}" %}}', "{% include gallery %}"]
        parts.append(f"<small>{self.provenance.html()}</small>")
        return "\n\n".join(parts) + "\n"

    def write(self, out: Path) -> list[str]:
        written = []
        for page in self.atlas.structure_pages:
            target = out / (page.path.rstrip("/") + ".md")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(self.front_matter(page) + "\n" + self.body(page), encoding="utf-8")
            written.append(page.path)
            if page.primary:
                self._assets(page, out)
        return written

    def _assets(self, page: Page, out: Path) -> None:
        stem = f"{page.stem}-{page.primary}"
        name = asset_name(page)
        for ext in ("gif", "mp4", "webm"):
            link(self.renders / f"{stem}.{ext}", out / "muscles" / "gif" / f"{name}.{ext}")
        link(self.renders / f"{stem}.glb", out / "muscles" / "glb" / f"{name}.glb")
        for index in range(1, self.atlas.views + 1):
            link(self.renders / f"{stem}-{index}.png", out / "muscles" / "png" / f"{name}-{index}.png")
            link(self.renders / f"{stem}-{index}-thumb.png", out / "muscles" / "png" / f"{name}-{index}-thumb.png")
