"""What to quantify: map specifications from the command line or from ``atlas.toml``.

Three kinds of input, each on its own grid:

- Dixon water and fat images → ``fat_fraction`` (%);
- a diffusion tensor (4D, 6 components) → ``MD``, ``FA`` and the eigenvalues ``lambda1..3``;
- any scalar map, ``NAME=FILE[:UNIT]`` (T2, T1, a fat fraction made elsewhere …).

Parsing lives here so that every command (``quantify``, ``build``) offers the same flags.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from muscle_atlas.errors import ConfigError, MapError
from muscle_atlas.suffixes import is_nifti_name

COMPONENTS = ("xx", "yy", "zz", "xy", "xz", "yz")
DEFAULT_DTI_ORDER = COMPONENTS
# Named orders of the six tensor components in the last axis of the file.
DTI_ORDERS: dict[str, tuple[str, ...]] = {
    "default": COMPONENTS,  # QMRITools, MRtrix
    "mrtrix": COMPONENTS,
    "fsl": ("xx", "xy", "xz", "yy", "yz", "zz"),  # dtifit's *_tensor: upper triangle, row by row
    "nifti": ("xx", "xy", "yy", "xz", "yz", "zz"),  # NIFTI_INTENT_SYMMATRIX: lower triangle, row by row
    "symmatrix": ("xx", "xy", "yy", "xz", "yz", "zz"),
}

# Quantities the built-in inputs produce: name → unit.
DIXON_QUANTITIES = {"fat_fraction": "%"}
DTI_QUANTITIES = {"MD": "mm^2/s", "FA": "", "lambda1": "mm^2/s", "lambda2": "mm^2/s", "lambda3": "mm^2/s"}
RESERVED_NAMES = {n.lower() for n in (*DIXON_QUANTITIES, *DTI_QUANTITIES)}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class ScalarMapSpec:
    """A scalar map: its quantity name, file and unit ('' when not given)."""

    name: str
    path: Path
    unit: str = ""


@dataclass
class MapSpecs:
    """Every map to quantify, and the in-plane erosion (voxels) of the second set of statistics."""

    dixon: tuple[Path, Path] | None = None  # (water, fat)
    dti: Path | None = None
    dti_order: tuple[str, ...] = DEFAULT_DTI_ORDER
    scalars: list[ScalarMapSpec] = field(default_factory=list)
    erode: int = 1

    @property
    def empty(self) -> bool:
        return self.dixon is None and self.dti is None and not self.scalars

    def quantity_names(self) -> list[str]:
        names: list[str] = []
        if self.dixon is not None:
            names += list(DIXON_QUANTITIES)
        if self.dti is not None:
            names += list(DTI_QUANTITIES)
        return names + [s.name for s in self.scalars]

    def overridden_by(self, other: MapSpecs, erode: int | None = None) -> MapSpecs:
        """These specs (e.g. from atlas.toml) with what ``other`` (the flags) sets replacing them;
        scalar maps are merged by name, the flags winning."""
        scalars = {s.name.lower(): s for s in self.scalars}
        scalars.update({s.name.lower(): s for s in other.scalars})
        return MapSpecs(
            dixon=other.dixon or self.dixon,
            dti=other.dti or self.dti,
            dti_order=other.dti_order if other.dti is not None else self.dti_order,
            scalars=list(scalars.values()),
            erode=self.erode if erode is None else erode,
        )


# ---------------------------------------------------------------------------------------------
# Parsing single values (ValueError with a message; callers add the flag or key)


def parse_map_spec(text: str) -> ScalarMapSpec:
    """``NAME=FILE[:UNIT]`` → a :class:`ScalarMapSpec`. The unit follows the last ':' after a
    NIfTI file name (``T2=t2.nii.gz:ms``, ``ADC=adc.nii:mm2/s``), so paths with ':'
    (``C:\\maps\\t2.nii``) still work."""
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not name or not rest.strip():
        raise ValueError(f"{text!r} is not NAME=FILE[:UNIT] (e.g. T2=t2.nii.gz:ms)")
    if not _NAME.match(name):
        raise ValueError(f"map name {name!r}: use letters, digits, '_', '.', '-', starting with a letter")
    if name.lower() in RESERVED_NAMES:
        raise ValueError(f"map name {name!r} is reserved for the Dixon/DTI quantities; choose another")
    file, unit = rest.strip(), ""
    head, colon, tail = file.rpartition(":")
    if colon and is_nifti_name(head):
        file, unit = head, tail.strip()
    return ScalarMapSpec(name=name, path=Path(file), unit=unit)


def parse_dti_order(text: str) -> tuple[str, ...]:
    """A named order (default, mrtrix, fsl, nifti) or six components such as ``xx,yy,zz,xy,xz,yz``."""
    key = text.strip().lower()
    if key in DTI_ORDERS:
        return DTI_ORDERS[key]
    parts = [p.strip() for p in re.split(r"[,\s]+", key) if p.strip()]
    normal = tuple("".join(sorted(p)) for p in parts)  # yx → xy
    if len(normal) != 6 or sorted(normal) != sorted(COMPONENTS):
        raise ValueError(
            f"{text!r} is not a tensor component order: give six components, each of "
            f"{', '.join(COMPONENTS)} once (e.g. xx,yy,zz,xy,xz,yz), or one of {', '.join(sorted(DTI_ORDERS))}"
        )
    return normal


def _check_names(scalars: list[ScalarMapSpec]) -> None:
    seen: set[str] = set()
    for spec in scalars:
        if spec.name.lower() in seen:
            raise ValueError(f"map name {spec.name!r} is given twice")
        seen.add(spec.name.lower())


# ---------------------------------------------------------------------------------------------
# Command line


def add_map_arguments(parser: argparse.ArgumentParser, map_flag: str = "--map") -> None:
    """Add ``--dixon``, ``--dti``, ``--dti-order``, ``MAP_FLAG NAME=FILE[:UNIT]`` and ``--erode``.

    Values land in ``args.dixon``, ``args.dti``, ``args.dti_order``, ``args.quantity_maps`` and
    ``args.erode`` (None when not given, so that atlas.toml values can apply); read them with
    :func:`specs_from_args`. ``map_flag`` lets a command whose ``--map`` means something else
    choose another flag.
    """
    group = parser.add_argument_group("quantitative maps")
    group.add_argument("--dixon", nargs=2, metavar=("WATER", "FAT"), help="Dixon water and fat images → fat fraction (%%)")
    group.add_argument("--dti", metavar="TENSOR", help="diffusion tensor (4D, 6 components) → MD, FA, eigenvalues")
    group.add_argument(
        "--dti-order",
        metavar="ORDER",
        default=None,
        help="order of the tensor components: xx,yy,zz,xy,xz,yz (default), fsl (xx,xy,xz,yy,yz,zz) "
        "or nifti (xx,xy,yy,xz,yz,zz)",
    )
    group.add_argument(
        map_flag,
        dest="quantity_maps",
        action="append",
        default=None,
        metavar="NAME=FILE[:UNIT]",
        help="a scalar map, e.g. T2=t2.nii.gz:ms (repeatable)",
    )
    group.add_argument(
        "--erode",
        type=int,
        default=None,
        metavar="N",
        help="in-plane erosion (voxels) for the second set of statistics (default 1)",
    )


def specs_from_args(args: argparse.Namespace, base: MapSpecs | None = None) -> MapSpecs:
    """The map specs the flags give, over ``base`` (e.g. from atlas.toml). Errors: MapError."""
    try:
        scalars = [parse_map_spec(t) for t in (getattr(args, "quantity_maps", None) or [])]
        _check_names(scalars)
    except ValueError as exc:
        raise MapError(f"--map: {exc}") from exc
    order_text = getattr(args, "dti_order", None)
    try:
        order = parse_dti_order(order_text) if order_text else None
    except ValueError as exc:
        raise MapError(f"--dti-order: {exc}") from exc
    erode = getattr(args, "erode", None)
    if erode is not None and erode < 0:
        raise MapError(f"--erode: must be 0 or more, not {erode}")
    dixon = getattr(args, "dixon", None)
    dti = getattr(args, "dti", None)
    flags = MapSpecs(
        dixon=(Path(dixon[0]), Path(dixon[1])) if dixon else None,
        dti=Path(dti) if dti else None,
        dti_order=order or DEFAULT_DTI_ORDER,
        scalars=scalars,
    )
    merged = (base or MapSpecs()).overridden_by(flags, erode)
    if order is not None and flags.dti is None:
        merged = replace(merged, dti_order=order)
    return merged


# ---------------------------------------------------------------------------------------------
# atlas.toml


def specs_from_toml(table: Any, folder: str | Path, source: str | Path | None = None) -> MapSpecs:
    """The ``[maps]`` table of atlas.toml → :class:`MapSpecs`; relative paths are relative to
    ``folder``. Every problem is collected and raised at once as a ConfigError naming its key::

        [maps]
        dixon = ["water.nii.gz", "fat.nii.gz"]
        dti = "tensor.nii.gz"
        dti_order = "xx,yy,zz,xy,xz,yz"
        erode = 1
        [maps.T2]
        file = "t2.nii.gz"
        unit = "ms"
    """
    folder = Path(folder)
    problems: list[str] = []
    specs = MapSpecs()

    def resolve(key: str, value: Any) -> Path | None:
        if not isinstance(value, str) or not value:
            problems.append(f"{key}: must be a file name, not {value!r}")
            return None
        path = Path(value) if os.path.isabs(value) else (folder / value).resolve()
        if not path.is_file():
            problems.append(f"{key}: no such file: {value}")
        return path

    if not isinstance(table, dict):
        raise ConfigError("maps: must be a table [maps]", source)
    scalars: list[ScalarMapSpec] = []
    for key, value in table.items():
        if key == "dixon":
            if not (isinstance(value, list) and len(value) == 2):
                problems.append(f'maps.dixon: must be ["water.nii.gz", "fat.nii.gz"], not {value!r}')
                continue
            water, fat = resolve("maps.dixon[0]", value[0]), resolve("maps.dixon[1]", value[1])
            if water is not None and fat is not None:
                specs.dixon = (water, fat)
        elif key == "dti":
            specs.dti = resolve("maps.dti", value)
        elif key == "dti_order":
            try:
                specs.dti_order = parse_dti_order(value) if isinstance(value, str) else parse_dti_order(",".join(value))
            except (ValueError, TypeError) as exc:
                problems.append(f"maps.dti_order: {exc}")
        elif key == "erode":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                problems.append(f"maps.erode: must be an integer, 0 or more, not {value!r}")
            else:
                specs.erode = value
        elif isinstance(value, dict):
            where = f"maps.{key}"
            if not _NAME.match(key) or key.lower() in RESERVED_NAMES:
                problems.append(f"{where}: {key!r} cannot name a map (reserved, or not letters/digits/_.-)")
                continue
            unknown = sorted(set(value) - {"file", "unit"})
            if unknown:
                problems.append(f"{where}: unknown key(s) {', '.join(unknown)} (known: file, unit)")
            unit = value.get("unit", "")
            if not isinstance(unit, str):
                problems.append(f"{where}.unit: must be a string, not {unit!r}")
                unit = ""
            path = resolve(f"{where}.file", value.get("file"))
            if path is not None:
                scalars.append(ScalarMapSpec(name=key, path=path, unit=unit))
        else:
            problems.append(
                f"maps.{key}: unknown key (known: dixon, dti, dti_order, erode, or a table [maps.NAME] with file and unit)"
            )
    try:
        _check_names(scalars)
    except ValueError as exc:
        problems.append(f"maps: {exc}")
    if problems:
        raise ConfigError("; ".join(problems), source)
    specs.scalars = scalars
    return specs
