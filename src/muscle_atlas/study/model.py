"""What a study is made of: subjects with their demographics, and one item per segmentation.

An *item* is one segmentation of one subject, session and acquisition, with its label table and
the quantitative maps found beside it. Items are what the cluster processes, one task each.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from muscle_atlas.errors import AtlasError


class StudyError(AtlasError):
    """A study folder, manifest, participants table or ``[study]`` option is unusable."""


@dataclass(frozen=True)
class ScalarMap:
    name: str
    path: str
    unit: str = ""


@dataclass(frozen=True)
class ItemMaps:
    """Quantitative maps of one segmentation (paths as given, absolute)."""

    dixon: tuple[str, str] | None = None  # (water, fat)
    dti: str | None = None
    scalars: tuple[ScalarMap, ...] = ()

    @property
    def empty(self) -> bool:
        return self.dixon is None and self.dti is None and not self.scalars

    def files(self) -> list[str]:
        return [*(self.dixon or ()), *([self.dti] if self.dti else []), *(s.path for s in self.scalars)]

    def describe(self) -> str:
        parts = []
        if self.dixon:
            parts.append("Dixon water and fat → fat fraction")
        if self.dti:
            parts.append("diffusion tensor → MD, FA")
        parts += [f"{s.name}{f' ({s.unit})' if s.unit else ''}" for s in self.scalars]
        return ", ".join(parts)


@dataclass(frozen=True)
class Item:
    """One segmentation: a task of the study."""

    id: str  # sub-X[_ses-Y][_acq-Z]: file and page names
    subject: str  # without "sub-"
    session: str  # "" when the study has no sessions
    acquisition: str  # "" when the subject has one acquisition and no acq- entity
    segmentation: str
    labels: str | None = None
    maps: ItemMaps = field(default_factory=ItemMaps)
    origin: str = ""  # where it was found: a manifest line or the folder

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Participant:
    """A row of participants.tsv (or of the manifest's demographic columns)."""

    subject: str
    group: str = ""
    sex: str = ""
    age: str = ""  # as written: "35", ">60", "50-60"
    height_m: float | None = None
    weight_kg: float | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def age_years(self) -> float | None:
        """The age as a number when it is one (bands such as ``>60`` stay text)."""
        try:
            value = float(self.age)
        except ValueError:
            return None
        return value if value == value else None


@dataclass
class Study:
    root: str  # the study folder, or the manifest's folder
    source: str  # the folder or the manifest file
    items: list[Item]
    participants: dict[str, Participant]
    notes: list[str] = field(default_factory=list)  # what discovery decided or could not use

    def subjects(self) -> list[str]:
        return sorted({i.subject for i in self.items})


_SAFE = re.compile(r"[^A-Za-z0-9.+-]+")


def safe_label(text: str) -> str:
    """A subject, session or acquisition label usable in a file name and URL."""
    return _SAFE.sub("-", text.strip()).strip("-.") or "x"


def item_id(subject: str, session: str, acquisition: str) -> str:
    parts = [f"sub-{safe_label(subject)}"]
    if session:
        parts.append(f"ses-{safe_label(session)}")
    if acquisition:
        parts.append(f"acq-{safe_label(acquisition)}")
    return "_".join(parts)
