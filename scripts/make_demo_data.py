"""Make the embedded demo's real anatomy from the shared data sets (run by maintainers, not users).

    .venv/bin/python scripts/make_demo_data.py [DATA]      # DATA: default ../shared/data

Writes src/muscle_atlas/demo/data/zanatomy-whole-body/: one body, the Z-Anatomy whole-body
muscles and skeleton (CC BY-SA 4.0), decimated and Draco-compressed into two glTF scenes (muscles,
bones) with one named node per structure, as the source has them (each muscle node holds both
sides), beside a README with the licence and attribution. Each surface keeps triangles in
proportion to its area, within a floor and a ceiling, so that a facial muscle keeps its shape and
a thigh muscle does not weigh down the package.
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src" / "muscle_atlas" / "demo" / "data"
FOLDER = "zanatomy-whole-body"
# Triangles per structure: its area (mm²) over these, within (floor, ceiling); bones are context.
MUSCLE_BUDGET = (60.0, 160, 1400)
BONE_BUDGET = (150.0, 80, 500)
RAS_TO_GLTF = np.array([[-1.0, 0, 0], [0, 0, 1.0], [0, 1.0, 0]])  # x = −R, y = S, z = A


def decimated(vertices: np.ndarray, faces: np.ndarray, triangles: int) -> tuple[np.ndarray, np.ndarray]:
    import pyvista as pv

    mesh = pv.PolyData(vertices, np.hstack([np.full((len(faces), 1), 3), faces]).astype(np.int64)).clean()
    mesh = pv.PolyData(mesh.points, faces=mesh.faces).triangulate()  # collapsed triangles become lines: dropped
    if mesh.n_cells > triangles:
        mesh = mesh.decimate(1.0 - triangles / mesh.n_cells)
    return np.asarray(mesh.points, dtype=np.float64), np.asarray(mesh.faces).reshape(-1, 4)[:, 1:]


def write_glb(path: Path, structures: list[tuple[str, np.ndarray, np.ndarray]]) -> None:
    """One Draco-compressed mesh per named node, RAS mm → glTF metres, +Y up."""
    import DracoPy

    blob = bytearray()
    meshes, nodes, views, accessors = [], [], [], []
    for name, vertices, faces in structures:
        points = (vertices @ RAS_TO_GLTF.T / 1000.0).astype(np.float32)
        encoded = DracoPy.encode(points, faces.astype(np.uint32), quantization_bits=14, compression_level=7)
        views.append({"buffer": 0, "byteOffset": len(blob), "byteLength": len(encoded)})
        blob += encoded + b"\0" * (-len(encoded) % 4)
        accessors.append({"componentType": 5126, "count": len(points), "type": "VEC3",
                          "min": points.min(axis=0).tolist(), "max": points.max(axis=0).tolist()})  # fmt: skip
        accessors.append({"componentType": 5125, "count": faces.size, "type": "SCALAR"})
        meshes.append({"name": name, "primitives": [{
            "attributes": {"POSITION": len(accessors) - 2}, "indices": len(accessors) - 1, "mode": 4,
            "extensions": {"KHR_draco_mesh_compression": {"bufferView": len(views) - 1, "attributes": {"POSITION": 0}}},
        }]})  # fmt: skip
        nodes.append({"name": name, "mesh": len(meshes) - 1})
    model = {
        "asset": {"version": "2.0", "generator": "muscle-atlas scripts/make_demo_data.py"},
        "extensionsUsed": ["KHR_draco_mesh_compression"], "extensionsRequired": ["KHR_draco_mesh_compression"],
        "scene": 0, "scenes": [{"nodes": list(range(len(nodes)))}], "nodes": nodes, "meshes": meshes,
        "accessors": accessors, "bufferViews": views, "buffers": [{"byteLength": len(blob)}],
    }  # fmt: skip
    text = json.dumps(model, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    body = struct.pack("<II", len(text), 0x4E4F534A) + text + struct.pack("<II", len(blob), 0x004E4942) + bytes(blob)
    path.write_bytes(struct.pack("<III", 0x46546C67, 2, 12 + len(body)) + body)


def budget(area_mm2: float, per: float, floor: int, ceiling: int) -> int:
    return int(min(max(area_mm2 / per, floor), ceiling))


def main(data: Path) -> None:
    from muscle_atlas.sources.gltf import read_gltf

    source = data / FOLDER
    target = OUT / FOLDER
    target.mkdir(parents=True, exist_ok=True)
    for name, numbers in (("muscular", MUSCLE_BUDGET), ("skeletal", BONE_BUDGET)):
        items = [(m.name, *decimated(np.asarray(m.mesh.vertices), np.asarray(m.mesh.faces), budget(m.mesh.area, *numbers)))
                 for m in read_gltf(source / f"{name}.glb")]  # fmt: skip
        path = target / f"{name}.glb"
        write_glb(path, items)
        print(f"{path}: {len(items)} structures, {path.stat().st_size:,} bytes (from {source / f'{name}.glb'})")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "data")
