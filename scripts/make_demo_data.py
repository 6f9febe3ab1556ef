"""Make the embedded demo's real anatomy from the shared data sets (run by maintainers, not users).

    .venv/bin/python scripts/make_demo_data.py [DATA]      # DATA: default ../shared/data

Writes src/muscle_atlas/demo/data/: the Visible Human Female lower limb (both sides, CC BY 4.0)
and the Z-Anatomy right upper limb (CC BY-SA 4.0), each decimated and Draco-compressed into one
glTF scene with one named node per structure, beside a README with its licence and attribution.
The two come from different bodies: the upper limb is moved (translation only) so that its
shoulder lies above the lower limb's right hip, as in a standing body, for the limb and torso
pictures.
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src" / "muscle_atlas" / "demo" / "data"
MUSCLE_TRIANGLES = 1400
CONTEXT_TRIANGLES = 500
# Where a standing adult's shoulder lies from the same side's hip muscles (mm, RAS): higher and
# a little lateral. Coarse on purpose: only the whole-limb pictures show both limbs.
SHOULDER_FROM_HIP_MM = np.array([0.0, -15.0, 470.0])
STERNAL_END_FROM_MIDLINE_MM = 15.0
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


def budget(name: str) -> int:
    return MUSCLE_TRIANGLES if "muscle" in name.lower() or "_Muscle_" in name else CONTEXT_TRIANGLES


def main(data: Path) -> None:
    import trimesh

    from muscle_atlas.sources.gltf import read_gltf

    lower = []
    for path in sorted((data / "vhf-lower-limb").rglob("*.stl")):
        mesh = trimesh.load(path, force="mesh")
        lower.append((path.stem, *decimated(np.asarray(mesh.vertices), np.asarray(mesh.faces), budget(path.stem))))
    upper = [(m.name, *decimated(np.asarray(m.mesh.vertices), np.asarray(m.mesh.faces), budget(m.name)))
             for m in read_gltf(data / "zanatomy-upper-limb" / "upper-limb.glb")]  # fmt: skip

    def centre(items: list, words: tuple[str, ...]) -> np.ndarray:
        points = [v for n, v, _ in items if all(w in n for w in words)]
        return np.vstack(points).mean(axis=0)

    # Height and depth: the shoulder above the right hip. Side: the clavicle's sternal end at the
    # body's midline (between the two gluteus medius muscles).
    hip = centre(lower, ("Right", "GluteusMedius"))
    midline = (hip[0] + centre(lower, ("Left", "GluteusMedius"))[0]) / 2
    shift = hip + SHOULDER_FROM_HIP_MM - centre(upper, ("deltoid",))
    clavicle = next(v for n, v, _ in upper if n.startswith("Clavicle"))
    shift[0] = midline + STERNAL_END_FROM_MIDLINE_MM - float(clavicle[:, 0].min())
    upper = [(n, v + shift, f) for n, v, f in upper]

    for folder, items, source in (("vhf-lower-limb", lower, data / "vhf-lower-limb"),
                                  ("zanatomy-upper-limb", upper, data / "zanatomy-upper-limb")):  # fmt: skip
        target = OUT / folder
        target.mkdir(parents=True, exist_ok=True)
        write_glb(target / f"{folder}.glb", items)
        print(f"{target / f'{folder}.glb'}: {len(items)} structures, {(target / f'{folder}.glb').stat().st_size:,} bytes"
              f" (from {source})")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "data")
