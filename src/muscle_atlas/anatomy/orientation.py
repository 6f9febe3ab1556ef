"""Which way is up: a source's anatomical axes and units, read from where its structures lie.

The structure tree knows the body's layout: regions from superior to inferior (head above neck,
shoulder above arm above forearm, hip above thigh above leg), anterior and posterior groups,
medial and lateral muscles, left and right. From the centroids of the matched structures this
module estimates, in the source's own frame, the superior, anterior and left directions, and
the unit (mm, cm or m) from the typical size of a muscle.

- Mesh sources (whose frame is arbitrary) are turned into RAS+ millimetres by a proper rotation
  and a scale. A reflection is never applied silently: if the side labels disagree with the
  frame the anatomy gives, that is reported, and the frame stays a proper rotation.
- Volume sources keep their header; a header that contradicts the anatomy (superior pointing
  down, left and right swapped) is reported.
- With too little evidence the source's frame is kept, and that is said.
- ``--orientation RAS|LPS|LAI|…`` names where the source's x, y, z axes point; ``header``
  keeps the source's frame as it is.

The evidence comes from :mod:`~muscle_atlas.anatomy.evidence`. Each estimate is the mean of unit
vectors between pairs of centroids (region above region, anterior group in front of posterior
group, left of right, lateral of medial), so a few odd structures do not turn the result; a weak
consensus counts as no evidence.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from muscle_atlas.anatomy.evidence import (
    Placed,
    _consensus,
    _unit,
    anterior_evidence,
    lateral_evidence,
    left_evidence,
    superior_evidence,
)
from muscle_atlas.errors import AtlasError

TYPICAL_MUSCLE_LENGTH_MM = 120.0  # median principal length of the muscles of a data set
PLAUSIBLE_LENGTH_MM = (25.0, 900.0)  # a median muscle shorter than 25 mm: not millimetres
MIN_CONSENSUS = 0.5  # |mean of unit vectors|: 1 when all pairs agree, ~0 when random
SNAP_DEGREES = 30.0  # a frame this close to the axes is taken to be exactly on them
UNITS = {"mm": 1.0, "cm": 10.0, "m": 1000.0}
_LETTERS = {"R": (0, 1), "L": (0, -1), "A": (1, 1), "P": (1, -1), "S": (2, 1), "I": (2, -1)}
_OPPOSITE = {"R": "L", "L": "R", "A": "P", "P": "A", "S": "I", "I": "S"}


@dataclass
class Orientation:
    """The source frame → RAS+ mm transform and what was found, one line per finding."""

    mode: str  # auto | header | a code such as LPS
    matrix: np.ndarray  # 3x3, source coordinates → RAS+ mm (identity: frame kept)
    decided: bool  # False: too little evidence, the source's frame was kept
    axes: str = ""  # e.g. "superior = −z, anterior = +y, left = −x"
    units: str = ""
    lines: list[str] = field(default_factory=list)  # findings, for inspect/match/build
    warnings: list[str] = field(default_factory=list)

    @property
    def changes_frame(self) -> bool:
        return not np.allclose(self.matrix, np.eye(3))

    def report(self) -> list[str]:
        return [*self.lines, *(f"warning: {w}" for w in self.warnings)]


# ---------------------------------------------------------------------------------------------
# Decisions


@dataclass
class Axes:
    """Directions in the source frame, each with its agreement and evidence count."""

    superior: tuple[np.ndarray | None, float, int]
    anterior: tuple[np.ndarray | None, float, int]
    left_by_labels: tuple[np.ndarray | None, float, int]
    left_by_laterality: tuple[np.ndarray | None, float, int]

    @staticmethod
    def of(placed: list[Placed], scale: float = 1.0) -> Axes:
        superior = _consensus(superior_evidence(placed, scale))
        up = superior[0] if superior[0] is not None and superior[1] >= MIN_CONSENSUS else None

        def flat(vectors: list[np.ndarray]) -> list[np.ndarray]:
            """Without their superior part: groups differ in height as well as in depth."""
            return [v - (v @ up) * up for v in vectors] if up is not None else vectors

        lateral = lateral_evidence(placed)
        # Lateral points left on the left side and right on the right side.
        left_votes = [*lateral["left"], *(-v for v in lateral["right"])]
        return Axes(
            superior,
            _consensus(flat(anterior_evidence(placed))),
            _consensus(flat(left_evidence(placed))),
            _consensus(flat(left_votes)),
        )

    def usable(self, which: str) -> np.ndarray | None:
        direction, strength, count = getattr(self, which)
        return direction if direction is not None and strength >= MIN_CONSENSUS and count else None


def _orthonormal(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    second = second - (second @ first) * first
    unit = _unit(second)
    return (first, unit) if unit is not None and np.linalg.norm(second) > 0.3 else None


def rotation_from(axes: Axes) -> tuple[np.ndarray | None, str]:
    """Rows R, A, S (unit vectors of the source frame): a proper rotation, and how it was found."""
    s, a = axes.usable("superior"), axes.usable("anterior")
    left = axes.usable("left_by_labels")
    if left is None:
        left = axes.usable("left_by_laterality")
    if s is not None and a is not None and (pair := _orthonormal(s, a)) is not None:
        s, a = pair
        return np.array([np.cross(a, s), a, s]), "regions and compartments"
    if s is not None and left is not None and (pair := _orthonormal(s, -left)) is not None:
        s, r = pair
        return np.array([r, np.cross(s, r), s]), "regions and sides"
    if a is not None and left is not None and (pair := _orthonormal(a, -left)) is not None:
        a, r = pair
        return np.array([r, a, np.cross(r, a)]), "compartments and sides"
    return None, ""


def snap(rotation: np.ndarray) -> tuple[np.ndarray, float]:
    """The nearest proper signed permutation, and the angle (degrees) to it."""
    best, best_angle = rotation, 180.0
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1, -1), repeat=3):
            candidate = np.zeros((3, 3))
            for row, (col, sign) in enumerate(zip(perm, signs, strict=True)):
                candidate[row, col] = sign
            if np.linalg.det(candidate) < 0:
                continue
            cos = (np.trace(candidate.T @ rotation) - 1) / 2
            angle = float(np.degrees(np.arccos(np.clip(cos, -1, 1))))
            if angle < best_angle:
                best, best_angle = candidate, angle
    return best, best_angle


def describe_axes(rotation: np.ndarray) -> str:
    """Where superior, anterior and left point in the source frame, e.g. "superior = −z"."""
    names = ("x", "y", "z")

    def axis(v: np.ndarray) -> str:
        i = int(np.argmax(np.abs(v)))
        if abs(v[i]) > 0.999:
            return f"{'+' if v[i] > 0 else '−'}{names[i]}"
        return "(" + ", ".join(f"{c:+.2f}" for c in v) + ")"

    return f"superior = {axis(rotation[2])}, anterior = {axis(rotation[1])}, left = {axis(-rotation[0])}"


def units_from(placed: list[Placed], declared: float = 1.0) -> tuple[float, str | None]:
    """Scale to mm: the declared one unless it makes muscles implausibly small or large."""
    lengths = [p.length for p in placed if p.match.kind in ("muscle", "head") and p.length > 0]
    if len(lengths) < 2:
        return declared, None
    median = float(np.median(lengths)) * declared
    lo, hi = PLAUSIBLE_LENGTH_MM
    if lo <= median <= hi:
        return declared, None
    options = [1.0, 10.0, 1000.0, 0.1, 0.001]
    best = min(options, key=lambda f: abs(np.log(median * f / TYPICAL_MUSCLE_LENGTH_MM)))
    return declared * best, (
        f"muscles would be {median:.3g} mm long in the declared units; "
        f"scaled by {best:g} (a typical muscle is about {TYPICAL_MUSCLE_LENGTH_MM:.0f} mm long)"
    )


def _unit_name(scale: float) -> str:
    for name, factor in UNITS.items():
        if np.isclose(scale, factor):
            return name
    return f"×{scale:g} to mm"


# ---------------------------------------------------------------------------------------------
# Codes


def code_matrix(code: str) -> np.ndarray:
    """``LPS`` (x points left, y posterior, z superior) → the matrix taking it to RAS."""
    text = code.strip().upper()
    if len(text) != 3 or any(c not in _LETTERS for c in text):
        raise AtlasError(f"orientation {code!r}: expected auto, header or three letters of R/L, A/P, S/I such as RAS or LPS")
    matrix = np.zeros((3, 3))
    for column, letter in enumerate(text):
        row, sign = _LETTERS[letter]
        if np.any(matrix[row]):
            raise AtlasError(f"orientation {code!r}: {letter} and {_OPPOSITE[letter]} name the same axis twice")
        matrix[row, column] = sign
    return matrix


def validate_mode(mode: str) -> str:
    if mode.lower() in ("auto", "header"):
        return mode.lower()
    code_matrix(mode)
    return mode.upper()


# ---------------------------------------------------------------------------------------------
# The whole decision


def side_conflicts(placed: list[Placed], to_ras: np.ndarray, overall: bool = True) -> list[str]:
    """Structures named left that lie on the subject's right (and vice versa), in RAS;
    ``overall``: also say so when all of them are swapped. The midline is where the structures
    present on both sides are mirrored, so a limb present on one side only does not move it."""
    x_of = {id(p): float((to_ras @ p.centroid)[0]) for p in placed}
    by_path: dict[str | None, dict[str, list[float]]] = {}
    for p in placed:
        if p.match.side in ("left", "right"):
            by_path.setdefault(p.match.path, {}).setdefault(p.match.side, []).append(x_of[id(p)])
    pairs = [(float(np.mean(s["left"])), float(np.mean(s["right"]))) for s in by_path.values() if len(s) == 2]
    if not pairs:
        return []
    if sum(left > right for left, right in pairs) > len(pairs) / 2:
        return (
            []
            if not overall
            else [
                "the structures labelled left lie on the subject's right and those labelled right on the left: "
                "either the side labels are swapped or the image is mirrored (the classic L/R flip)"
            ]
        )
    midline = float(np.median([(left + right) / 2 for left, right in pairs]))
    wrong = [p for p in placed if p.match.side in ("left", "right") and (p.match.side == "left") == (x_of[id(p)] > midline)]
    return [
        f"{p.match.name!r} is labelled {p.match.side} but lies on the subject's "
        f"{'right' if p.match.side == 'left' else 'left'}"
        for p in wrong
    ]


def orient(placed: list[Placed], kind: str, mode: str = "auto", declared_scale: float = 1.0,
           units: str = "auto") -> Orientation:  # fmt: skip
    """Decide the frame of a source. ``kind``: "meshes" (frame may be changed) or "volume"
    (the header is kept; contradictions are reported)."""
    mode = validate_mode(mode)
    unit_lines: list[str] = []
    if units != "auto":
        if units not in UNITS:
            raise AtlasError(f"units {units!r}: expected auto, mm, cm or m")
        scale = UNITS[units]
    elif kind == "meshes":
        scale, note = units_from(placed, declared_scale)
        if note:
            unit_lines.append(note)
    else:
        scale = 1.0
        __, note = units_from(placed, 1.0)
        if note:
            unit_lines.append(f"the header's sizes look wrong: {note.split(';')[0]}")
    unit_text = f"units: {_unit_name(scale)}" + (f" ({unit_lines[0]})" if kind == "meshes" and unit_lines else "")
    if mode != "auto":
        return _forced(placed, kind, mode, scale, unit_text)

    axes = Axes.of(placed, scale)
    doubt = _conflict(axes)
    rotation, how = rotation_from(axes) if doubt is None else (None, "")
    result = Orientation("auto", np.eye(3) * (scale if kind == "meshes" else 1.0), False, units=unit_text)
    if kind == "volume" and unit_lines:
        result.warnings.append(unit_lines[0])
    if rotation is None:
        found = [f"{name} {_vector(v)}" for name, v in _single_axes(axes)]
        if found:
            line = (f"orientation: only {', '.join(found)} could be read from the anatomy, not enough "
                    "to decide; the source's frame is kept")  # fmt: skip
        else:
            line = f"orientation: too few structures to decide ({len(placed)} placed); the source's frame is kept"
        if doubt is not None:
            line = f"orientation: {doubt}; the source's frame is kept"
        result.lines += [line, result.units]
        if kind == "volume" and doubt is None:
            result.warnings += _header_contradictions(axes)
        result.warnings += side_conflicts(placed, np.eye(3))
        return result
    snapped, angle = snap(rotation)
    if angle <= SNAP_DEGREES:
        rotation = snapped
    result.decided = True
    result.axes = describe_axes(rotation)
    chirality = _chirality_conflict(axes, rotation)
    if kind == "meshes":
        result.matrix = rotation * scale
        turned = "kept (already RAS)" if np.allclose(rotation, np.eye(3)) else "turned to RAS+"
        result.lines.append(f"orientation: {result.axes} (from {how}); frame {turned}")
        result.lines.append(unit_text)
        if chirality:
            result.warnings.append(chirality + "; no reflection applied (force one with --orientation)")
        result.warnings += side_conflicts(placed, result.matrix, overall=not chirality)
        return result
    # Volumes keep their header: compare the anatomy with it.
    result.lines.append(f"orientation: header kept; anatomy says {result.axes} in the header's RAS frame")
    result.lines.append(unit_text)
    result.warnings += _header_contradictions(axes)
    if chirality:
        result.warnings.append(chirality)
    result.warnings += side_conflicts(placed, np.eye(3), overall=not chirality)
    return result


def _conflict(axes: Axes) -> str | None:
    """Directions from independent evidence should be about perpendicular; when two are close
    to parallel (a limb held out from the body, a mislabelled compartment), nothing is decided."""
    found = dict(_single_axes(axes))
    for first, second in (("superior", "anterior"), ("superior", "left"), ("anterior", "left")):
        if first in found and second in found and abs(float(found[first] @ found[second])) > 0.7:
            return (f"the anatomy gives conflicting directions ({first} and {second} nearly parallel: "
                    "is the body in an unusual pose?)")  # fmt: skip
    return None


def _single_axes(axes: Axes) -> list[tuple[str, np.ndarray]]:
    found = [("superior", axes.usable("superior")), ("anterior", axes.usable("anterior"))]
    left = axes.usable("left_by_labels")
    found.append(("left", left if left is not None else axes.usable("left_by_laterality")))
    return [(name, v) for name, v in found if v is not None]


def _vector(v: np.ndarray) -> str:
    i = int(np.argmax(np.abs(v)))
    if abs(v[i]) > 0.9:
        return f"({'+' if v[i] > 0 else '−'}{'xyz'[i]})"
    return "(" + ", ".join(f"{c:+.2f}" for c in v) + ")"


def _header_contradictions(axes: Axes) -> list[str]:
    """A volume's header against each direction the anatomy gives on its own."""
    problems = []
    superior, anterior = axes.usable("superior"), axes.usable("anterior")
    if superior is not None and superior[2] < -0.5:
        problems.append("the header's superior axis points down: renders will be upside down; "
                        "check the header or pass --orientation")  # fmt: skip
    if anterior is not None and anterior[1] < -0.5:
        problems.append("the header's anterior axis points to the back: renders will show the posterior "
                        "side first; check the header or pass --orientation")  # fmt: skip
    return problems


def _chirality_conflict(axes: Axes, rotation: np.ndarray) -> str | None:
    """Left as given by the labels or by laterality, against the left of a proper frame built
    from superior and anterior."""
    if axes.usable("superior") is None or axes.usable("anterior") is None:
        return None
    frame_left = -rotation[0]
    for which, what in (("left_by_labels", "side labels"), ("left_by_laterality", "medial and lateral structures")):
        left = axes.usable(which)
        if left is not None and float(left @ frame_left) < -0.3:
            return (f"the {what} put the subject's left where a proper frame puts the right: "
                    "the side labels are swapped or the source is mirrored")  # fmt: skip
    return None


def _forced(placed: list[Placed], kind: str, mode: str, scale: float, unit_text: str) -> Orientation:
    if mode == "header":
        matrix = np.eye(3)
        line = "orientation: the source's frame is kept (--orientation header)"
    else:
        matrix = code_matrix(mode)
        line = f"orientation: the source's axes point {mode} (--orientation {mode})"
        if np.linalg.det(matrix) < 0:
            line += "; this is a reflection, applied as asked"
    result = Orientation(mode, matrix * (scale if kind == "meshes" else 1.0), True, describe_axes(matrix), unit_text)
    result.lines += [line, unit_text]
    result.warnings += side_conflicts(placed, result.matrix)
    return result
