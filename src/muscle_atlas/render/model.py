"""3D models: one GLB per turntable, the structure in its colours among its context.

glTF is Y-up and in metres; our meshes are RAS+ millimetres. The model is centred on the
structures it shows, with glTF +X = the subject's left (-x RAS), +Y = superior (+z RAS) and
+Z = anterior (+y RAS), so a viewer's default camera looks at the anterior surface.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

from muscle_atlas.render.engine import BONE, MUSCLE_CONTEXT, OTHER_CONTEXT, Color, SceneItem

RAS_MM_TO_GLTF = np.array(
    [[-0.001, 0, 0, 0], [0, 0, 0.001, 0], [0, 0.001, 0, 0], [0, 0, 0, 1]], dtype=float
)  # fmt: skip
CONTEXT_TRIANGLES = 800


def _overlaps(mesh: object, lo: np.ndarray, hi: np.ndarray) -> bool:
    bounds = np.asarray(mesh.bounds).reshape(3, 2)  # type: ignore[attr-defined]
    return bool(np.all(bounds[:, 1] >= lo) and np.all(bounds[:, 0] <= hi))


def _material(color: Color, alpha: float, name: str) -> trimesh.visual.material.PBRMaterial:
    rgba = [float(c) for c in color] + [alpha]
    return trimesh.visual.material.PBRMaterial(
        name=name,
        baseColorFactor=rgba,
        metallicFactor=0.0,
        roughnessFactor=0.75,
        alphaMode="BLEND" if alpha < 1 else "OPAQUE",
        doubleSided=False,
    )


# Decimated context, reused by every model of a scene. The mesh itself is kept in the value so
# that its id cannot be reused by another mesh while the entry exists.
_DECIMATED: dict[tuple[int, int | None], tuple[object, np.ndarray, np.ndarray]] = {}


def forget_decimations() -> None:
    _DECIMATED.clear()


def _as_trimesh(mesh: object, triangles: int | None) -> trimesh.Trimesh:
    """A fresh trimesh of ``mesh``, decimated to ``triangles``."""
    import pyvista as pv

    cached = _DECIMATED.get((id(mesh), triangles))
    if cached is not None and cached[0] is mesh:
        return trimesh.Trimesh(cached[1].copy(), cached[2], process=False)
    poly: pv.PolyData = mesh  # type: ignore[assignment]
    if triangles is not None and poly.n_cells > triangles:
        poly = poly.decimate(1.0 - triangles / poly.n_cells)
    faces = np.asarray(poly.triangulate().faces).reshape(-1, 4)[:, 1:]
    points = np.asarray(poly.points, dtype=float)
    _DECIMATED[(id(mesh), triangles)] = (mesh, points, faces)
    return trimesh.Trimesh(points.copy(), faces, process=False)


def _linear(rgb: np.ndarray) -> np.ndarray:
    """sRGB uint8 → linear RGBA uint8: glTF vertex colours (COLOR_0) are linear."""
    srgb = np.asarray(rgb, dtype=float) / 255
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    out = np.full((len(srgb), 4), 255, dtype=np.uint8)
    out[:, :3] = np.round(linear * 255).astype(np.uint8)
    return out


def write_glb(
    path: Path, items: list[SceneItem], highlight: dict[str, Color], colours: dict[str, np.ndarray] | None = None
) -> Path:
    """The highlighted structures at full detail, with the context that lies around them.
    ``colours`` (label key → sRGB uint8 per vertex) become the vertex colours (COLOR_0) of
    those structures, under a white material."""
    colours = colours or {}
    visible = [i for i in items if i.role != "hidden"]
    focus = [i for i in visible if i.key in highlight] or visible
    points = np.vstack([np.asarray(i.mesh.points) for i in focus])  # type: ignore[attr-defined]
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre = (lo + hi) / 2
    margin = 0.15 * (hi - lo).max()
    shown = [i for i in visible if i.key in highlight or _overlaps(i.mesh, lo - margin, hi + margin)]
    transform = RAS_MM_TO_GLTF.copy()
    transform[:3, 3] = -(RAS_MM_TO_GLTF[:3, :3] @ centre)
    scene = trimesh.Scene()
    # Opaque first, translucent after: viewers that do not sort still draw them right.
    ordered = sorted(shown, key=lambda i: (i.key not in highlight and i.role != "bone", i.key))
    for item in ordered:
        if item.key in highlight:
            mesh, material = _as_trimesh(item.mesh, None), _material(highlight[item.key], 1.0, "structure")
        elif item.role == "bone":
            mesh, material = _as_trimesh(item.mesh, CONTEXT_TRIANGLES), _material(BONE, 1.0, "bone")
        elif item.role == "muscle":
            mesh, material = _as_trimesh(item.mesh, CONTEXT_TRIANGLES), _material(MUSCLE_CONTEXT, 0.22, "muscle")
        else:
            mesh, material = _as_trimesh(item.mesh, CONTEXT_TRIANGLES), _material(OTHER_CONTEXT, 0.3, "context")
        if item.key in colours:
            material = _material((1.0, 1.0, 1.0), 1.0, "mapped")
        mesh.apply_transform(transform)
        mesh.visual = trimesh.visual.TextureVisuals(material=material)
        if item.key in colours:
            mesh.visual.vertex_attributes["color"] = _linear(colours[item.key])
        scene.add_geometry(mesh, node_name=item.key, geom_name=item.key)
    path.write_bytes(scene.export(file_type="glb"))
    return path
