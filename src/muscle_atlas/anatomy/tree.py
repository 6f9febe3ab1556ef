"""The structure tree: limbs → regions → groups → muscles → heads, with their facts.

Shipped as one YAML file per region in ``anatomy/data``. Each structure is a flat record whose
6-digit code is its path to the root (limb, region, group, muscle, head digits, then a side
digit that is 0 here: sides belong to labels, not to the tree). The parent of a code is the
code with its last non-zero digit zeroed, so the tree is derived from the codes alone, with one
addition: a *set* (a group coded at the muscle level, with ``members``) gathers sibling muscles
one level down, as anatomy gathers semispinalis, multifidus and rotatores into the
transversospinales, without changing the members' codes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from muscle_atlas import yamlio
from muscle_atlas.errors import AnatomyError

KINDS = ("limb", "region", "group", "muscle", "head")
FACT_FIELDS = (
    "latin",
    "synonyms",
    "abbreviations",
    "origin",
    "insertion",
    "action",
    "innervation",
    "arterial_supply",
    "fma_id",
    "description",
)
_TEXT_FACTS = ("latin", "origin", "insertion", "action", "innervation", "arterial_supply", "description")
_SLUG_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


@dataclass(frozen=True)
class Facts:
    """What the atlas tells about a muscle or head; shared by every place it appears."""

    latin: str
    synonyms: tuple[str, ...]
    abbreviations: tuple[str, ...]
    origin: str
    insertion: str
    action: str
    innervation: str
    arterial_supply: str
    fma_id: int | None  # None: no identifier we could check (never guessed)
    description: str


@dataclass
class Structure:
    code: int
    kind: str
    slug: str
    name: str
    description: str
    facts: Facts | None = None
    same_as: int | None = None
    members: tuple[int, ...] = ()  # a set's members (see the module's docstring)
    parent: Structure | None = field(default=None, repr=False)
    children: list[Structure] = field(default_factory=list, repr=False)

    @property
    def level(self) -> int:
        return KINDS.index(self.kind)

    def ancestors(self) -> list[Structure]:
        """From the limb down to the parent."""
        chain = []
        node = self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain[::-1]

    @property
    def region(self) -> Structure | None:
        for node in [*self.ancestors(), self]:
            if node.kind == "region":
                return node
        return None

    @property
    def limb(self) -> Structure:
        return ([*self.ancestors(), self])[0]

    @property
    def path(self) -> str:
        """URL path below ``/muscle/``: ``lower-limb``, ``leg``, ``leg/soleus``."""
        region = self.region
        if region is None or region is self:
            return self.slug
        return f"{region.slug}/{self.slug}"

    def walk(self) -> Iterator[Structure]:
        yield self
        for child in self.children:
            yield from child.walk()


def parent_code(code: int) -> int | None:
    """211120 → 211100 → 211000 → 210000 → 200000 → None (the side digit is ignored)."""
    digits = list(f"{code:06d}"[:5])
    for i in range(4, -1, -1):
        if digits[i] != "0":
            digits[i] = "0"
            parent = int("".join(digits) + "0")
            return parent if any(d != "0" for d in digits) else None
    return None


def code_level(code: int) -> int:
    """0 = limb … 4 = head: the position of the last non-zero digit."""
    digits = f"{code:06d}"[:5]
    return max(i for i, d in enumerate(digits) if d != "0")


class StructureTree:
    """All structures, by code and by path, with the facts resolved."""

    def __init__(self, structures: list[Structure]) -> None:
        self.by_code = {s.code: s for s in structures}
        self.by_path = {s.path: s for s in structures}
        self.limbs = [s for s in structures if s.parent is None]

    def __iter__(self) -> Iterator[Structure]:
        for limb in self.limbs:
            yield from limb.walk()

    def __len__(self) -> int:
        return len(self.by_code)

    def get(self, key: str | int) -> Structure:
        """Find by code, path (``leg/soleus``), slug or display name."""
        text = str(key).strip()
        if text.isdigit() and int(text) in self.by_code:
            return self.by_code[int(text)]
        if text in self.by_path:
            return self.by_path[text]
        lowered = text.lower().replace(" ", "-").replace("_", "-")
        hits = [s for s in self.by_code.values() if s.slug == lowered or s.name.lower() == text.lower()]
        if len(hits) == 1 or (hits and all(h.facts is hits[0].facts for h in hits)):
            return hits[0]
        if hits:
            places = ", ".join(h.path for h in hits)
            raise AnatomyError(f"structure {key!r} is ambiguous: {places}")
        raise AnatomyError(f"structure {key!r} not found (try `muscle-atlas kb`)")

    def regions(self) -> list[Structure]:
        return [s for s in self if s.kind == "region"]


# ---------------------------------------------------------------------------------------------
# Loading and validation


def _data_files() -> list[tuple[str, str]]:
    folder = resources.files("muscle_atlas.anatomy") / "data"
    return sorted(
        (p.name, p.read_text(encoding="utf-8"))
        for p in folder.iterdir()
        if p.name.endswith(".yaml") and p.name not in ("context.yaml", "aliases.yaml", "lexicon.yaml")
    )


def _facts(entry: dict[str, Any], where: str) -> Facts:
    missing = [f for f in FACT_FIELDS if f not in entry]
    empty = [f for f in _TEXT_FACTS if f in entry and not str(entry[f] or "").strip()]
    if missing or empty:
        raise AnatomyError(f"{where}: missing facts: {', '.join(missing + empty)}")
    for key in ("synonyms", "abbreviations"):
        if not isinstance(entry[key], list):
            raise AnatomyError(f"{where}: {key} must be a list")
    if entry["fma_id"] is not None and not isinstance(entry["fma_id"], int):
        raise AnatomyError(f"{where}: fma_id must be an integer or null")
    return Facts(
        latin=str(entry["latin"]).strip(),
        synonyms=tuple(str(s) for s in entry["synonyms"]),
        abbreviations=tuple(str(s) for s in entry["abbreviations"]),
        origin=str(entry["origin"]).strip(),
        insertion=str(entry["insertion"]).strip(),
        action=str(entry["action"]).strip(),
        innervation=str(entry["innervation"]).strip(),
        arterial_supply=str(entry["arterial_supply"]).strip(),
        fma_id=entry["fma_id"],
        description=str(entry["description"]).strip(),
    )


def build_tree(files: list[tuple[str, str]]) -> StructureTree:
    """Parse and validate ``(file name, YAML text)`` pairs; errors name the file and entry."""
    structures: dict[int, Structure] = {}
    origin: dict[int, str] = {}
    for name, text in files:
        try:
            entries = yamlio.safe_load(text) or []
        except yaml.YAMLError as exc:
            raise AnatomyError(f"invalid YAML ({exc})", name) from exc
        if not isinstance(entries, list):
            raise AnatomyError("expected a list of structures", name)
        for index, entry in enumerate(entries, start=1):
            where = f"{name}: entry {index}"
            if not isinstance(entry, dict) or "code" not in entry:
                raise AnatomyError(f"{where}: each structure needs a code")
            code = entry["code"]
            where = f"{name}: {code}"
            if not isinstance(code, int) or not 100000 <= code <= 999999 or code % 10 != 0:
                raise AnatomyError(f"{where}: code must be 6 digits ending in 0 (Both)")
            if code in structures:
                raise AnatomyError(f"{where}: code defined twice (also in {origin[code]})")
            for key in ("kind", "slug", "name"):
                if not str(entry.get(key) or "").strip():
                    raise AnatomyError(f"{where}: missing {key}")
            kind = entry["kind"]
            if kind not in KINDS:
                raise AnatomyError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
            members = entry.get("members") or []
            if not isinstance(members, list) or not all(isinstance(m, int) for m in members):
                raise AnatomyError(f"{where}: members must be a list of codes")
            is_set = kind == "group" and bool(members) and code_level(code) == 3
            if members and not is_set:
                raise AnatomyError(f"{where}: only a group coded at the muscle level (a set) has members")
            fits = KINDS.index(kind) == code_level(code) or (kind == "muscle" and code_level(code) == 4) or is_set
            if not fits:
                raise AnatomyError(f"{where}: kind {kind!r} does not fit the code's level")
            slug = str(entry["slug"])
            if not set(slug) <= _SLUG_CHARS or slug.startswith("-") or slug.endswith("-"):
                raise AnatomyError(f"{where}: slug {slug!r} must be lowercase letters, digits and '-'")
            needs_facts = kind in ("muscle", "head") and "same_as" not in entry
            if not needs_facts and kind in ("limb", "region", "group") and not entry.get("description"):
                raise AnatomyError(f"{where}: missing description")
            structures[code] = Structure(
                code=code,
                kind=kind,
                slug=slug,
                name=str(entry["name"]).strip(),
                description=str(entry.get("description") or "").strip(),
                facts=_facts(entry, where) if needs_facts else None,
                same_as=entry.get("same_as"),
                members=tuple(members),
            )
            origin[code] = name
    _link(structures, origin)
    tree = StructureTree(sorted(structures.values(), key=lambda s: s.code))
    if len(tree.by_path) != len(structures):
        seen: dict[str, int] = {}
        for s in structures.values():
            if s.path in seen:
                raise AnatomyError(f"{origin[s.code]}: {s.code}: slug path {s.path!r} already used by {seen[s.path]}")
            seen[s.path] = s.code
    return tree


def _link(structures: dict[int, Structure], origin: dict[int, str]) -> None:
    for code, structure in sorted(structures.items()):
        where = f"{origin[code]}: {code}"
        parent = parent_code(code)
        if parent is not None:
            if parent not in structures:
                raise AnatomyError(f"{where}: parent {parent} does not exist")
            structure.parent = structures[parent]
            structures[parent].children.append(structure)
        if structure.same_as is not None:
            target = structures.get(structure.same_as)
            if target is None or target.facts is None:
                raise AnatomyError(f"{where}: same_as {structure.same_as} is not a structure with facts")
            structure.facts = target.facts
            structure.description = structure.description or target.facts.description
        elif structure.kind in ("muscle", "head") and structure.description == "" and structure.facts:
            structure.description = structure.facts.description
    _gather_sets(structures, origin)
    for structure in structures.values():  # codes make cycles impossible; depth proves it
        in_set = structure.parent is not None and bool(structure.parent.members)
        if len(structure.ancestors()) != code_level(structure.code) + int(in_set):
            raise AnatomyError(f"{origin[structure.code]}: {structure.code}: broken parent chain")


def _gather_sets(structures: dict[int, Structure], origin: dict[int, str]) -> None:
    """Move each set's members under it; a member must be a muscle coded beside the set."""
    taken: dict[int, int] = {}
    for code, group in sorted(structures.items()):
        for member_code in group.members:
            where = f"{origin[code]}: {code}"
            member = structures.get(member_code)
            if member is None or member.kind != "muscle" or parent_code(member_code) != parent_code(code):
                raise AnatomyError(f"{where}: member {member_code} is not a muscle beside the set")
            if member_code in taken:
                raise AnatomyError(f"{where}: member {member_code} is already in the set {taken[member_code]}")
            taken[member_code] = code
            assert member.parent is not None  # a muscle-level code always has a parent
            member.parent.children.remove(member)
            member.parent = group
            group.children.append(member)
        group.children.sort(key=lambda s: s.code)


@cache
def load_tree() -> StructureTree:
    """The shipped tree (parsed once per process)."""
    return build_tree(_data_files())


# ---------------------------------------------------------------------------------------------
# Context structures (bones, fat, organs…)


@dataclass(frozen=True)
class ContextStructure:
    slug: str
    name: str
    category: str
    names: tuple[str, ...]


@cache
def load_context() -> tuple[ContextStructure, ...]:
    text = (resources.files("muscle_atlas.anatomy") / "data" / "context.yaml").read_text(encoding="utf-8")
    return tuple(ContextStructure(e["slug"], e["name"], e["category"], tuple(e["names"])) for e in yamlio.safe_load(text))
