"""A synthetic phantom of both lower legs (knee to ankle) as a NIfTI label volume: a test fixture.

Each structure is an ellipse in every axial slice whose centre, radii and presence change along
the leg: muscle bellies swell and taper into thin tendons, the four compartments are kept
apart, tibia and fibula run the whole length. It is not anyone's anatomy, but it has the
arrangement of a real leg, so tests can run the whole pipeline on a volume of known content.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

VOXEL_MM = (1.5, 1.5, 5.0)  # in-plane 1.5 mm, 5 mm slices: a typical muscle MRI
LEG_LENGTH_MM = 380.0
LEG_CENTRE_X_MM = 95.0  # distance of each leg's axis from the midline


@dataclass(frozen=True)
class Part:
    """One structure: local position (lateral, anterior; mm) and extent along the leg.

    ``z0``/``z1``: where it starts and ends (0 = ankle, 1 = knee); ``peak``: where the belly is
    widest; ``drift``: how far the centre moves (lateral, anterior) from ankle to knee."""

    name: str
    colour: tuple[int, int, int]
    lateral: float
    anterior: float
    radii: tuple[float, float]
    z0: float
    z1: float
    peak: float
    tendon: float = 2.0
    drift: tuple[float, float] = (0.0, 0.0)
    bone: bool = False


# Painted in this order; a voxel keeps the first structure that claims it.
PARTS: tuple[Part, ...] = (
    Part("Tibia", (235, 230, 215), -12, 14, (14, 16), 0.0, 1.0, 1.0, 12, (0, 0), True),
    Part("Fibula", (225, 220, 200), 26, -2, (6, 7), 0.0, 1.0, 1.0, 5.5, (-2, 0), True),
    Part("Popliteus", (0, 170, 200), -2, -10, (22, 7), 0.82, 1.0, 0.93, 3, (0, 0)),
    Part("Tibialis posterior", (148, 60, 211), 6, 2, (10, 7), 0.12, 0.88, 0.62, 2.5, (-6, 0)),
    Part("Flexor digitorum longus", (200, 180, 90), -12, -6, (7, 6), 0.08, 0.76, 0.45, 2, (4, 0)),
    Part("Flexor hallucis longus", (0, 200, 127), 20, -16, (9, 7), 0.05, 0.66, 0.35, 2, (-4, 2)),
    Part("Fibularis longus", (255, 127, 80), 35, 6, (8, 10), 0.3, 0.98, 0.7, 2.5, (2, 0)),
    Part("Fibularis brevis", (100, 149, 237), 33, -6, (6, 8), 0.04, 0.62, 0.35, 2.5, (0, 4)),
    Part("Tibialis anterior", (65, 105, 225), 6, 28, (10, 12), 0.12, 0.95, 0.7, 3, (-6, -6)),
    Part("Extensor digitorum longus", (50, 205, 50), 20, 22, (7, 9), 0.08, 0.95, 0.6, 2.5, (-4, 0)),
    Part("Extensor hallucis longus", (230, 220, 0), 11, 19, (5, 6), 0.06, 0.6, 0.33, 2, (0, 0)),
    Part("Soleus", (255, 38, 0), 6, -32, (30, 14), 0.1, 0.85, 0.55, 4, (0, 4)),
    Part("Gastrocnemius medial", (255, 165, 0), -14, -54, (17, 12), 0.42, 1.0, 0.78, 3, (4, -2)),
    Part("Gastrocnemius lateral", (255, 105, 180), 18, -51, (13, 10), 0.52, 1.0, 0.82, 3, (-2, 0)),
    Part("Plantaris", (220, 20, 60), 12, -28, (4, 4), 0.78, 1.0, 0.9, 1.5, (0, 0)),
)
SUBCUTANEOUS_FAT = Part("Subcutaneous fat", (240, 200, 160), 4, -12, (58, 56), 0.0, 1.0, 0.75, 32)
# The muscles and bones lie inside this ellipse; the fat is the rest of the outline.
_DEEP_FASCIA = Part("", (0, 0, 0), 4, -12, (52, 50), 0.0, 1.0, 0.75, 26)


def _profile(part: Part, z: float) -> float:
    """Radius scale at height z: a belly that rises and falls smoothly into its tendon."""
    if not part.z0 <= z <= part.z1:
        return 0.0
    if part.bone:
        return 1.0
    if z <= part.peak:
        u = (z - part.z0) / max(part.peak - part.z0, 1e-6)
    else:
        u = (part.z1 - z) / max(part.z1 - part.peak, 1e-6)
    return math.sin(math.pi / 2 * min(max(u, 0.0), 1.0)) ** 0.8


def _ellipse(part: Part, z: float, lat: np.ndarray, ant: np.ndarray) -> np.ndarray:
    scale = _profile(part, z)
    if scale <= 0:
        return np.zeros(lat.shape, dtype=bool)
    if part.bone:
        # Bones are wider near the knee (tibial plateau) and at the ankle (malleoli).
        flare = 1.0 + 0.7 * max(0.0, (z - 0.85) / 0.15) + 0.25 * max(0.0, (0.1 - z) / 0.1)
        ra, rb = part.radii[0] * flare * (0.8 + 0.2 * z), part.radii[1] * flare * (0.8 + 0.2 * z)
    elif part is SUBCUTANEOUS_FAT or part is _DEEP_FASCIA:
        ra = part.tendon + (part.radii[0] - part.tendon) * scale
        rb = part.tendon * 0.9 + (part.radii[1] - part.tendon * 0.9) * scale
    else:
        ra = max(part.tendon, part.radii[0] * scale)
        rb = max(part.tendon, part.radii[1] * scale)
    cx = part.lateral + part.drift[0] * z
    cy = part.anterior + part.drift[1] * z
    return ((lat - cx) / ra) ** 2 + ((ant - cy) / rb) ** 2 <= 1.0


def phantom_names() -> list[str]:
    """Label names in label order: every part for the left leg, then for the right."""
    names = [p.name for p in (*PARTS, SUBCUTANEOUS_FAT)]
    return [f"{n} {side}" for side in ("Left", "Right") for n in names]


def make_phantom() -> tuple[np.ndarray, np.ndarray]:
    """Return (labels, affine) of the two-leg phantom, RAS+, millimetres."""
    parts = (*PARTS, SUBCUTANEOUS_FAT)
    half_width = LEG_CENTRE_X_MM + 70.0
    nx = round(2 * half_width / VOXEL_MM[0])
    ny = round(160.0 / VOXEL_MM[1])
    nz = round(LEG_LENGTH_MM / VOXEL_MM[2])
    x = -half_width + (np.arange(nx) + 0.5) * VOXEL_MM[0]
    y = -85.0 + (np.arange(ny) + 0.5) * VOXEL_MM[1]
    gx, gy = np.meshgrid(x, y, indexing="ij")
    labels = np.zeros((nx, ny, nz), dtype=np.uint8)
    for side_index, (centre, lateral_sign) in enumerate(((-LEG_CENTRE_X_MM, -1.0), (LEG_CENTRE_X_MM, 1.0))):
        # RAS+: +x is the subject's right, so the left leg lies at -x and its lateral side is -x.
        lat = (gx - centre) * lateral_sign
        ant = gy
        offset = side_index * len(parts)
        for k in range(nz):
            z = (k + 0.5) / nz
            sl = labels[:, :, k]
            outline = _ellipse(SUBCUTANEOUS_FAT, z, lat, ant)
            inner = _ellipse(_DEEP_FASCIA, z, lat, ant)
            for index, part in enumerate(PARTS, start=1):
                mask = _ellipse(part, z, lat, ant) & inner & (sl == 0)
                sl[mask] = offset + index
            sl[outline & (sl == 0)] = offset + len(parts)
    affine = np.diag([*VOXEL_MM, 1.0])
    affine[:3, 3] = [x[0], y[0], -LEG_LENGTH_MM + VOXEL_MM[2] / 2]
    return labels, affine
