"""The reference site's URL space: the names muscle-atlas.org gives every structure.

The reference Jekyll site (github.com/mfroeling/MuscleAtlas-website, ``pages/muscles/``) names its
pages by a few rules, applied here to our structure tree:

- words: a structure's own words in the reference's order. Limbs, regions and muscles: the name
  ("Flexor digitorum longus"; "Intrinsic muscles of the tongue" → "Intrinsic"). Groups: the name
  without "muscles (of the)", "group", "compartment", "layer", "abdominal wall" ("Facial muscles,
  orbital group" → "Facial Orbital"); a set of muscles inside a group (the transversospinales) is
  named as the reference names it, like a muscle. Heads and parts: "Gastrocnemius, lateral head" is the
  *lateral head of gastrocnemius*, "Inferior longitudinal muscle of tongue" the *inferior
  longitudinal (muscle) of tongue*; their short form drops "head of", "part of", "muscle of":
  "Lateral Gastrocnemius", "Inferior Longitudinal Tongue".
- permalink: ``/muscle/<region>/<short form, lowercase, joined>/`` (``/muscle/leg/lateralgastrocnemius/``);
  limbs and regions ``/muscle/<words>/``. Source file ``pages/muscles/muscle_<region>-<slug>.md``.
- assets: ``<Region>-<ShortForm>`` in CamelCase (``Leg-LateralGastrocnemius``; ``LowerLimb``, ``Leg``).
- title: "Muscles of the Lower Limb" (limbs, regions), "Muscles of the superficial posterior
  compartment of the leg" (groups), "The soleus muscle of the leg", "The lateral head of the
  gastrocnemius muscle of the leg", "The inferior longitudinal of the tongue muscle of the head".
- tags: ``muscle`` for limbs, ``muscle_<first three letters of the limb>`` for regions, else the region.
- image_id: the long form joined (``lateralheadofgastrocnemius``, ``inferiorlongitudinalmuscleoftongue``);
  groups prefix their region (``legsuperficialposterior``).
- link text in lists: the long form in Title Case ("Lateral Head Of Gastrocnemius"); groups add
  "Compartment". Back: limbs and regions go to ``/muscle/``, every other page to its region.
- lists: the page itself, then its subtree in code order (limbs: regions and groups only).

Where the reference departs from these rules, or names a structure otherwise than our tree,
``reference.yaml`` holds the exception, keyed by our structure code. Structures the reference
lacks are named by the same rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from html import escape
from importlib import resources
from pathlib import Path

from muscle_atlas import yamlio
from muscle_atlas.anatomy.tree import Structure
from muscle_atlas.errors import AtlasError
from muscle_atlas.site.atlas import Page

ROOT = "/muscle/"
_EXCEPTION_KEYS = {"words", "image_id", "linked_as", "lists", "order", "region_tag"}
_GROUP_NOISE = re.compile(r"\b(?:muscles of the|muscles of|muscles|group|compartment|layer|abdominal wall)\b")
_COLLECTIVE = re.compile(r"^(.+?) muscles of the .+$")
_MUSCLE_OF = re.compile(r"^(.+?) muscle of (?:the )?(.+)$")
_HEAD_WORDS = ("head", "part")


@dataclass(frozen=True)
class ReferenceName:
    code: int
    kind: str
    permalink: str  # "/muscle/leg/lateralgastrocnemius/"
    linked_as: str  # the permalink the reference's lists use for the page (almost always the permalink)
    file: str  # "pages/muscles/muscle_leg-lateralgastrocnemius.md"
    title: str
    tags: str
    image_id: str
    base: str  # asset base name: "Leg-LateralGastrocnemius"
    text: str  # link text: "Lateral Head Of Gastrocnemius"
    back: str  # "/muscle/leg/"

    @property
    def image_name(self) -> str:
        return f"muscles/gif/{self.base}.gif"


@cache
def exceptions() -> dict[int, dict]:
    """``reference.yaml``: the reference's names its rules do not give, by structure code."""
    text = (resources.files("muscle_atlas.site") / "reference.yaml").read_text(encoding="utf-8")
    table = yamlio.safe_load(text) or {}
    for code, entry in table.items():
        if not isinstance(code, int) or not isinstance(entry, dict) or not set(entry) <= _EXCEPTION_KEYS:
            raise AtlasError(f"reference.yaml: bad entry {code!r}")
    return table


def _words(text: str) -> list[str]:
    """Lowercase words; hyphens join ("humero-ulnar" → "humeroulnar"), commas separate."""
    return [w for w in (re.sub(r"[^a-z0-9]", "", w) for w in re.split(r"[\s,]+", text.lower())) if w]


def _title(words: list[str]) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in words)


def _camel(words: list[str]) -> str:
    return "".join(w[:1].upper() + w[1:] for w in words)


@dataclass(frozen=True)
class _Parts:
    short: list[str]  # the slug's words: "lateral gastrocnemius"
    long: list[str]  # the link text's: "lateral head of gastrocnemius"
    phrase: str  # the title's core: "lateral head of the gastrocnemius muscle"
    ident: list[str]  # the image_id's: "lateral head of gastrocnemius", "inferior longitudinal muscle of tongue"


def _parts(structure: Structure) -> _Parts:
    extra = exceptions().get(structure.code, {})
    if "words" in extra:
        words = _words(str(extra["words"]))
        return _Parts(words, words, f"{' '.join(words)} muscle", words)
    name = structure.name
    if structure.kind in ("limb", "region"):
        words = _words(name)
        return _Parts(words, words, "", words)
    if structure.kind == "group":
        words = _words(_GROUP_NOISE.sub(" ", name.lower()))
        return _Parts(words, words, f"{' '.join(words)} muscle" if structure.members else "", words)
    if structure.kind == "head" and ", " in name:
        whole, part = name.split(", ", 1)
        part_words = _words(part)
        if part_words and part_words[-1] in _HEAD_WORDS:
            modifier, head, muscle = part_words[:-1], part_words[-1], _words(whole)
            long = [*modifier, head, "of", *muscle]
            return _Parts(modifier + muscle, long, f"{' '.join(modifier)} {head} of the {' '.join(muscle)} muscle", long)
    found = _MUSCLE_OF.match(name.lower())
    if structure.kind == "head" and found:
        modifier, muscle = _words(found.group(1)), _words(found.group(2))
        return _Parts(modifier + muscle, [*modifier, "of", *muscle],
                      f"{' '.join(modifier)} of the {' '.join(muscle)} muscle", _words(name))  # fmt: skip
    collective = _COLLECTIVE.match(name.lower())
    words = _words(collective.group(1) if collective else name)
    return _Parts(words, words, f"{' '.join(words)} muscle", words)


def name_of(structure: Structure) -> ReferenceName:
    """The reference's names for one structure (its page, its assets, how lists link it)."""
    extra = exceptions().get(structure.code, {})
    parts = _parts(structure)
    slug = "".join(parts.short)
    kind = structure.kind
    region = structure.region
    if kind in ("limb", "region") or region is None:
        permalink = f"{ROOT}{slug}/"
        file = f"pages/muscles/muscle_{slug}.md"
        base = _camel(parts.short)
        title = f"Muscles of the {_title(parts.short)}"
        back = ROOT
        if kind == "limb":
            tags = "muscle"
        else:
            limb = structure.limb
            tags = str(exceptions().get(limb.code, {}).get("region_tag") or f"muscle_{''.join(_parts(limb).short)[:3]}")
        image_id = slug
        text = _title(parts.short)
    else:
        where = _parts(region).short
        region_slug = "".join(where)
        permalink = f"{ROOT}{region_slug}/{slug}/"
        file = f"pages/muscles/muscle_{region_slug}-{slug}.md"
        base = f"{_camel(where)}-{_camel(parts.short)}"
        back = f"{ROOT}{region_slug}/"
        tags = region_slug
        if kind == "group" and not structure.members:
            title = f"Muscles of the {' '.join(parts.short)} compartment of the {' '.join(where)}"
            image_id = region_slug + slug
            text = f"{_title(parts.short)} Compartment"
        else:
            title = f"The {parts.phrase} of the {' '.join(where)}"
            image_id = "".join(parts.ident)
            text = _title(parts.long)
    image_id = str(extra.get("image_id", image_id))
    linked_as = permalink
    if "linked_as" in extra:
        linked_as = permalink.rsplit("/", 2)[0] + f"/{extra['linked_as']}/"
    return ReferenceName(structure.code, kind, permalink, linked_as, file, title, tags, image_id, base, text, back)


def children(structure: Structure) -> list[Structure]:
    """A structure's children in the reference's order (code order, unless it says otherwise)."""
    order = exceptions().get(structure.code, {}).get("order")
    kids = list(structure.children)
    if order:
        rank = {code: i for i, code in enumerate(order)}
        kids.sort(key=lambda s: rank.get(s.code, len(rank)))
    return kids


def listed(structure: Structure, present: Mapping[int, Structure]) -> Structure:
    """The structure whose subtree a page lists: itself, or the one the reference lists instead
    (when that one is present)."""
    code = exceptions().get(structure.code, {}).get("lists")
    return present.get(code, structure) if code is not None else structure


def page_list(structure: Structure, present: Mapping[int, Structure]) -> list[tuple[int, ReferenceName]]:
    """The page's nested list as (depth, name): the page itself first, then its subtree in the
    reference's order, limited to the ``present`` structures; a limb lists regions and groups."""
    top = listed(structure, present)
    first = name_of(top)
    if structure.kind == "limb":  # the reference links a limb's own bullet to the atlas root
        first = replace(first, linked_as=ROOT)
    items = [(0, first)]

    def walk(node: Structure, depth: int) -> None:
        for child in children(node):
            outline = child.kind in ("region", "group") and not child.members  # a limb's list: no sets
            if child.code not in present or (structure.kind == "limb" and not outline):
                continue
            items.append((depth, name_of(child)))
            walk(child, depth + 1)

    walk(top, 1)
    return items if len(items) > 1 else []


def markdown_list(items: list[tuple[int, ReferenceName]]) -> str:
    return "\n".join(f"{'  ' * depth}- [{n.text}]({n.linked_as})" for depth, n in items)


# --- redirect pages ------------------------------------------------------------------------------


def redirect_html(target: str, canonical: str, title: str, note: str = "") -> str:
    """A page that sends browsers on to ``target`` (meta refresh), names the real page for search
    engines (canonical, noindex) and shows a link for everyone else."""
    t, c, name = escape(target, quote=True), escape(canonical, quote=True), escape(title)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Moved: {name}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f'<meta http-equiv="refresh" content="0; url={t}">\n'
        f'<link rel="canonical" href="{c}">\n'
        "</head>\n<body>\n"
        f'<p>This page has moved: <a href="{t}">{name}</a>.</p>\n'
        + (f"<p><small>{note}</small></p>\n" if note else "")
        + "</body>\n</html>\n"
    )


def html_redirects(pages: list[Page], own_paths: set[str]) -> dict[str, str]:
    """For our HTML site: reference permalink (and the reference's other links to it) → our page
    path, both below the site root without a leading slash; never over one of our own pages."""
    found: dict[str, str] = {}
    for page in pages:
        if page.structure is None:
            continue
        name = name_of(page.structure)
        for old in (name.permalink, name.linked_as):
            path = old.lstrip("/")
            if path != page.path and path not in own_paths:
                found.setdefault(path, page.path)
    return dict(sorted(found.items()))


def write_html_redirects(pages: list[Page], own_paths: set[str], out: Path, base_url: str,
                         note: str = "") -> dict[str, str]:  # fmt: skip
    """Write a redirect page at each reference permalink and ``redirects.json`` (old → new, from the
    site root); return the redirects."""
    redirects = html_redirects(pages, own_paths)
    titles = {p.path: p.title for p in pages}
    for old, new in redirects.items():
        target = "../" * old.count("/") + new
        page = out / old / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(redirect_html(target, base_url + new, titles.get(new, new), note), encoding="utf-8")
    listing = {f"/{old}": f"/{new}" for old, new in redirects.items()}
    (out / "redirects.json").write_text(json.dumps(listing, indent=1) + "\n", encoding="utf-8")
    return redirects
