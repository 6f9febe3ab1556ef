"""3D models (GLB): one per scene, every structure a named node with its own material.

A scene (a region seen from one side variant) is one model that every page of the region
shares: each structure the scene's pages show is a node named after its label key, with a
material of the same name, in a plain muscle colour; what only surrounds them is context (bones
opaque, the rest translucent), sharing the materials ``context:bone``, ``context:muscle`` and
``context:other``. A page highlights its own structures through the viewer's scene-graph API
(``model.getMaterialByName(key)``): the page's structures take their colours, the scene's other
structures turn translucent.

Meshes are Draco-compressed (``KHR_draco_mesh_compression``, through DracoPy): positions
quantised to 14 bits of each mesh's extent, normals to 10 bits (a 6,000-triangle muscle: about
130 KB as floats, 17 KB compressed). The site ships the decoder (250 KB, loaded only with the 3D
viewer).

glTF is Y-up and in metres; our meshes are RAS+ millimetres. The model is centred on the
scene, with glTF +X = the subject's left (-x RAS), +Y = superior (+z RAS) and +Z = anterior
(+y RAS), so a viewer's default camera looks at the anterior surface. The meshes keep their RAS
millimetres and each node's matrix places them: a structure's compressed mesh is then the same
bytes in every scene it is part of, encoded once per worker (the scenes' models cost a twentieth
of a whole-body build's CPU when each scene encoded its own). Colours are given as sRGB
and written linear, as glTF wants them.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from muscle_atlas.render.engine import BONE, MUSCLE_CONTEXT, OTHER_CONTEXT, Color, SceneItem

RAS_MM_TO_GLTF = np.array(
    [[-0.001, 0, 0, 0], [0, 0, 0.001, 0], [0, 0.001, 0, 0], [0, 0, 0, 1]], dtype=float
)  # fmt: skip
CONTEXT_TRIANGLES = 800
MUSCLE: Color = (0.72, 0.34, 0.31)  # a scene's own structures, before a page colours them
CONTEXT_MATERIALS = {  # name → (sRGB colour, alpha)
    "bone": ("context:bone", BONE, 1.0),
    "muscle": ("context:muscle", MUSCLE_CONTEXT, 0.22),
    "context": ("context:other", OTHER_CONTEXT, 0.3),
}
POSITION_BITS = 14
NORMAL_BITS = 10
DRACO_LEVEL = 7  # DracoPy's 0–10 (encoder speed 10 − level)
DRACO = "KHR_draco_mesh_compression"


def _overlaps(mesh: object, lo: np.ndarray, hi: np.ndarray) -> bool:
    bounds = np.asarray(mesh.bounds).reshape(3, 2)  # type: ignore[attr-defined]
    return bool(np.all(bounds[:, 1] >= lo) and np.all(bounds[:, 0] <= hi))


def linear(colour: Color) -> list[float]:
    """sRGB components (0–1) → linear, rounded for a stable file."""
    out = []
    for c in colour:
        c = float(c)
        out.append(round(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4, 5))
    return out


# Draco-encoded meshes by (mesh, detail), without vertex colours: the encoding and what the
# accessors say of it.
_ENCODED: dict[tuple[int, int | None], tuple] = {}

# Decimated context, reused by every model of a worker. The mesh itself is kept in the value so
# that its id cannot be reused by another mesh while the entry exists.
_DECIMATED: dict[tuple[int, int | None], tuple[object, np.ndarray, np.ndarray]] = {}


def forget_decimations() -> None:
    _DECIMATED.clear()
    _ENCODED.clear()


def _context_source(item: SceneItem) -> object:
    """The surface a context structure is decimated from: its lighter one when it has one
    (five times faster to decimate, and the same shape at this detail)."""
    return item.light if item.light is not None else item.mesh


def _geometry(mesh: object, triangles: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Points (RAS mm) and triangles of ``mesh``, decimated to ``triangles``."""
    import pyvista as pv

    from muscle_atlas.geometry.surfaces import decimate

    cached = _DECIMATED.get((id(mesh), triangles))
    if cached is not None and cached[0] is mesh:
        return cached[1], cached[2]
    poly: pv.PolyData = mesh  # type: ignore[assignment]
    if triangles is not None:
        poly = decimate(poly, triangles)
    faces = np.asarray(poly.triangulate().faces).reshape(-1, 4)[:, 1:]
    points = np.asarray(poly.points, dtype=float)
    _DECIMATED[(id(mesh), triangles)] = (mesh, points, faces)
    return points, faces


def _normals(points: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals (unit length; zero-area fans get +Y)."""
    a, b, c = (points[faces[:, i]] for i in range(3))
    face = np.cross(b - a, c - a)
    normals = np.zeros_like(points)
    for i in range(3):
        np.add.at(normals, faces[:, i], face)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = np.where(length > 0, normals / np.maximum(length, 1e-30), [0.0, 1.0, 0.0])
    return normals


def _srgb_to_linear_rgba(rgb: np.ndarray) -> np.ndarray:
    """sRGB uint8 → linear RGBA uint8: glTF vertex colours (COLOR_0) are linear."""
    srgb = np.asarray(rgb, dtype=float) / 255
    values = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    out = np.full((len(srgb), 4), 255, dtype=np.uint8)
    out[:, :3] = np.round(values * 255).astype(np.uint8)
    return out


class GlbBuilder:
    """A glTF 2.0 binary with Draco-compressed triangle meshes, one node per mesh."""

    def __init__(self) -> None:
        self.gltf: dict = {
            "asset": {"version": "2.0", "generator": "muscle-atlas"},
            "scene": 0, "scenes": [{"nodes": []}], "nodes": [], "meshes": [], "materials": [],
            "accessors": [], "bufferViews": [], "buffers": [],
            "extensionsUsed": [DRACO], "extensionsRequired": [DRACO],
        }  # fmt: skip
        self.binary = bytearray()
        self.material_index: dict[str, int] = {}

    def material(self, name: str, colour: Color, alpha: float = 1.0) -> int:
        if name not in self.material_index:
            self.material_index[name] = len(self.gltf["materials"])
            material: dict = {
                "name": name,
                "pbrMetallicRoughness": {"baseColorFactor": [*linear(colour), alpha], "metallicFactor": 0.0,
                                         "roughnessFactor": 0.75},
                "doubleSided": False,
            }  # fmt: skip
            if alpha < 1:
                material["alphaMode"] = "BLEND"
            self.gltf["materials"].append(material)
        return self.material_index[name]

    def _accessor(self, **fields: object) -> int:
        self.gltf["accessors"].append(fields)
        return len(self.gltf["accessors"]) - 1

    def add(self, name: str, mesh: object, triangles: int | None, material: int, matrix: np.ndarray,
            colours: np.ndarray | None = None) -> None:  # fmt: skip
        """A node ``name`` with a mesh of the same name: ``mesh`` (RAS mm) decimated to ``triangles``,
        placed by ``matrix`` (RAS mm → the model's glTF metres)."""
        encoded, count, low, high, corners, ids = _encoded(mesh, triangles, colours)
        attributes = {
            "POSITION": self._accessor(componentType=5126, count=count, type="VEC3", min=low, max=high),
            "NORMAL": self._accessor(componentType=5126, count=count, type="VEC3"),
        }  # fmt: skip
        draco_ids = {"POSITION": ids[0], "NORMAL": ids[1]}
        if colours is not None:
            attributes["COLOR_0"] = self._accessor(componentType=5121, normalized=True, count=count, type="VEC4")
            draco_ids["COLOR_0"] = ids[2]
        indices = self._accessor(componentType=5125 if count > 65535 else 5123, count=corners, type="SCALAR")
        view = self._view(encoded)
        primitive = {"attributes": attributes, "indices": indices, "material": material, "mode": 4,
                     "extensions": {DRACO: {"bufferView": view, "attributes": draco_ids}}}  # fmt: skip
        self.gltf["meshes"].append({"name": name, "primitives": [primitive]})
        node = {"name": name, "mesh": len(self.gltf["meshes"]) - 1, "matrix": _column_major(matrix)}
        self.gltf["nodes"].append(node)
        self.gltf["scenes"][0]["nodes"].append(len(self.gltf["nodes"]) - 1)

    def _view(self, data: bytes) -> int:
        while len(self.binary) % 4:
            self.binary.append(0)
        self.gltf["bufferViews"].append({"buffer": 0, "byteOffset": len(self.binary), "byteLength": len(data)})
        self.binary += data
        return len(self.gltf["bufferViews"]) - 1

    def to_bytes(self) -> bytes:
        while len(self.binary) % 4:
            self.binary.append(0)
        self.gltf["buffers"] = [{"byteLength": len(self.binary)}]
        text = json.dumps(self.gltf, separators=(",", ":"), ensure_ascii=False).encode()
        text += b" " * (-len(text) % 4)
        total = 12 + 8 + len(text) + 8 + len(self.binary)
        return b"".join([
            struct.pack("<4sII", b"glTF", 2, total), struct.pack("<I4s", len(text), b"JSON"), text,
            struct.pack("<I4s", len(self.binary), b"BIN\x00"), bytes(self.binary),
        ])  # fmt: skip


def _encoded(mesh: object, triangles: int | None, colours: np.ndarray | None) -> tuple:
    """``mesh`` decimated to ``triangles`` and Draco-encoded (with per-vertex ``colours``), with
    its vertex count, bounds, index count and attribute ids (by Draco attribute type) as the
    decoder gives them; cached per worker."""
    import DracoPy

    key = (id(mesh), triangles)
    cached = _ENCODED.get(key) if colours is None else None  # map colours are one model's
    if cached is not None and cached[0] is mesh:
        return cached[1:]  # type: ignore[return-value]
    points, faces = _geometry(mesh, triangles)
    points = np.ascontiguousarray(points, dtype=np.float32)
    faces = np.ascontiguousarray(faces, dtype=np.uint32)
    extra = {"colors": np.ascontiguousarray(colours, dtype=np.uint8)} if colours is not None else {}
    encoded = DracoPy.encode(
        points, faces, quantization_bits=POSITION_BITS, compression_level=DRACO_LEVEL,
        normals=_normals(points.astype(float), faces), normal_quantization_bits=NORMAL_BITS, **extra,
    )  # fmt: skip
    decoded = DracoPy.decode(encoded)  # the counts and bounds the viewer will see
    ids = {a["attribute_type"]: a["unique_id"] for a in decoded.attributes}
    decoded_points = np.asarray(decoded.points, dtype=np.float32).reshape(-1, 3)
    low = [float(v) for v in decoded_points.min(axis=0)]
    high = [float(v) for v in decoded_points.max(axis=0)]
    result = (encoded, len(decoded_points), low, high, int(np.asarray(decoded.faces).size), ids)
    if colours is None:
        _ENCODED[key] = (mesh, *result)
    return result


def _column_major(matrix: np.ndarray) -> list[float]:
    return [round(float(v), 9) for v in np.asarray(matrix, dtype=float).T.ravel()]


def _transform(centre: np.ndarray) -> np.ndarray:
    transform = RAS_MM_TO_GLTF.copy()
    transform[:3, 3] = -(RAS_MM_TO_GLTF[:3, :3] @ centre)
    return transform


def _surroundings(items: list[SceneItem], focus: list[SceneItem]) -> tuple[list[SceneItem], np.ndarray]:
    """The visible items that lie around the focus structures (15 % margin), and the centre."""
    points = np.vstack([np.asarray(i.mesh.points) for i in focus])  # type: ignore[attr-defined]
    lo, hi = points.min(axis=0), points.max(axis=0)
    margin = 0.15 * (hi - lo).max()
    focus_keys = {i.key for i in focus}
    shown = [i for i in items if i.key in focus_keys or _overlaps(i.mesh, lo - margin, hi + margin)]
    return shown, (lo + hi) / 2


def _context_material(builder: GlbBuilder, role: str) -> int:
    name, colour, alpha = CONTEXT_MATERIALS.get(role, CONTEXT_MATERIALS["context"])
    return builder.material(name, colour, alpha)


def write_scene_glb(path: Path, items: list[SceneItem], focus: set[str]) -> Path:
    """The scene's model: the ``focus`` structures (those its pages show) at full detail, each
    with its own material named after its key, and the context that lies around them."""
    visible = [i for i in items if i.role != "hidden"]
    own = [i for i in visible if i.key in focus] or visible
    shown, centre = _surroundings(visible, own)
    transform = _transform(centre)
    builder = GlbBuilder()
    own_keys = {i.key for i in own}
    # Opaque first, translucent after: viewers that do not sort still draw them right.
    for item in sorted(shown, key=lambda i: (i.key not in own_keys and i.role != "bone", i.key)):
        if item.key in own_keys:
            builder.add(item.key, item.mesh, None, builder.material(item.key, MUSCLE), transform)
        else:
            source, material = _context_source(item), _context_material(builder, item.role)
            builder.add(item.key, source, CONTEXT_TRIANGLES, material, transform)
    path.write_bytes(builder.to_bytes())
    return path


def write_glb(
    path: Path, items: list[SceneItem], highlight: dict[str, Color], colours: dict[str, np.ndarray] | None = None
) -> Path:
    """The highlighted structures at full detail in their colours, with the context that lies
    around them. ``colours`` (label key → sRGB uint8 per vertex) become the vertex colours
    (COLOR_0) of those structures, under a white material."""
    colours = colours or {}
    visible = [i for i in items if i.role != "hidden"]
    focus = [i for i in visible if i.key in highlight] or visible
    shown, centre = _surroundings(visible, focus)
    transform = _transform(centre)
    builder = GlbBuilder()
    for item in sorted(shown, key=lambda i: (i.key not in highlight and i.role != "bone", i.key)):
        vertex_colours = None
        if item.key in highlight:
            source, detail = item.mesh, None
            if item.key in colours:
                material = builder.material("mapped", (1.0, 1.0, 1.0))
                vertex_colours = _srgb_to_linear_rgba(colours[item.key])
            else:
                material = builder.material(item.key, highlight[item.key])
        else:
            source, detail = _context_source(item), CONTEXT_TRIANGLES
            material = _context_material(builder, item.role)
        builder.add(item.key, source, detail, material, transform, vertex_colours)
    path.write_bytes(builder.to_bytes())
    return path
