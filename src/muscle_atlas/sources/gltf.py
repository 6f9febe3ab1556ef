"""glTF 2.0 scenes (``.glb``/``.gltf``) as mesh sources: one structure per named mesh node.

pygltflib reads the container (GLB chunks, external and ``data:`` buffers) and the JSON model;
Draco-compressed primitives (``KHR_draco_mesh_compression``) are decoded by DracoPy. Neither
library flattens the node hierarchy or reads plain accessors into arrays, and trimesh's glTF
loader refuses Draco, so the two small steps that remain are done here: node world matrices
(translation, rotation, scale or matrix, through the hierarchy) and reading POSITION/index
accessors with their byte strides.

Coordinates come out in the glTF convention turned into RAS+ millimetres: glTF is metres, +Y up,
and an asset faces +Z, so its +X is the subject's left. Anatomy checks the result later
(``anatomy.orientation``); this is only the format's own promise.
"""

from __future__ import annotations

import base64
import warnings
from pathlib import Path

import numpy as np
import trimesh

from muscle_atlas.errors import SourceError
from muscle_atlas.sources.meshes import MAX_COORDINATE, MeshFile

GLTF_SUFFIXES = (".glb", ".gltf")
# glTF (x right-of-viewer = subject's left, y up, z toward the viewer = anterior) → RAS+.
GLTF_TO_RAS = np.array([[-1.0, 0, 0], [0, 0, 1.0], [0, 1.0, 0]])
METRES_TO_MM = 1000.0
_COMPONENTS = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}
_TRIANGLES = 4


def is_gltf_path(path: Path) -> bool:
    return path.suffix.lower() in GLTF_SUFFIXES


def read_gltf(path: str | Path) -> list[MeshFile]:
    """Every named mesh node of the default scene, in RAS+ mm (glTF convention)."""
    import pygltflib

    path = Path(path)
    if not path.is_file():
        raise SourceError("no such glTF file", path)
    if path.stat().st_size == 0:
        raise SourceError("empty glTF file", path)
    try:
        with warnings.catch_warnings():  # pygltflib warns about chunks it skips: not the user's concern
            warnings.simplefilter("ignore")
            gltf = pygltflib.GLTF2().load(str(path))
    except Exception as exc:  # pygltflib raises JSON, struct, key and type errors on bad files
        raise SourceError(f"not a readable glTF file ({type(exc).__name__}: {exc})", path) from exc
    if gltf is None or not gltf.nodes:
        raise SourceError("glTF file has no nodes", path)
    try:
        meshes = _scene_meshes(gltf, path)
    except SourceError:
        raise
    except Exception as exc:  # malformed indices, short buffers, bad Draco data
        raise SourceError(f"corrupt glTF content ({type(exc).__name__}: {exc})", path) from exc
    if not meshes:
        raise SourceError("glTF scene has no triangle meshes", path)
    return meshes


def _scene_meshes(gltf: object, path: Path) -> list[MeshFile]:
    nodes = gltf.nodes  # type: ignore[attr-defined]
    scenes = gltf.scenes or []  # type: ignore[attr-defined]
    scene_index = gltf.scene if gltf.scene is not None else 0  # type: ignore[attr-defined]
    if scenes and 0 <= scene_index < len(scenes):
        roots = list(scenes[scene_index].nodes or [])
    else:  # no scene: every node that is nobody's child
        children = {c for n in nodes for c in (n.children or [])}
        roots = [i for i in range(len(nodes)) if i not in children]
    buffers = _Buffers(gltf, path)
    to_ras = np.eye(4)
    to_ras[:3, :3] = GLTF_TO_RAS * METRES_TO_MM
    result: list[MeshFile] = []
    seen: dict[str, int] = {}
    stack = [(i, to_ras, 0) for i in reversed(roots)]
    visited: set[int] = set()
    while stack:
        index, parent, depth = stack.pop()
        if not 0 <= index < len(nodes) or index in visited or depth > 256:
            raise SourceError(f"node {index}: bad or cyclic node hierarchy", path)
        visited.add(index)
        node = nodes[index]
        with np.errstate(over="ignore", invalid="ignore"):
            world = parent @ _local_matrix(node, path, index)
        if not np.all(np.isfinite(world)):
            raise SourceError(f"node {index}: transform is not finite (with its parents')", path)
        if node.mesh is not None:
            mesh = _node_mesh(gltf, buffers, node.mesh, world, path)
            if mesh is not None:
                name = node.name or gltf.meshes[node.mesh].name or f"node {index}"  # type: ignore[attr-defined]
                seen[name] = seen.get(name, 0) + 1
                if seen[name] > 1:
                    name = f"{name} ({seen[name]})"
                result.append(MeshFile(name=name, path=path, mesh=mesh))
        stack.extend((c, world, depth + 1) for c in reversed(node.children or []))
    return result


def _local_matrix(node: object, path: Path, index: int) -> np.ndarray:
    matrix = getattr(node, "matrix", None)
    if matrix is not None:
        local = np.asarray(matrix, dtype=float).reshape(4, 4).T  # glTF stores column-major
    else:
        t = np.asarray(node.translation if node.translation is not None else (0, 0, 0), dtype=float)  # type: ignore[attr-defined]
        q = np.asarray(node.rotation if node.rotation is not None else (0, 0, 0, 1), dtype=float)  # type: ignore[attr-defined]
        s = np.asarray(node.scale if node.scale is not None else (1, 1, 1), dtype=float)  # type: ignore[attr-defined]
        if t.shape != (3,) or q.shape != (4,) or s.shape != (3,):
            raise SourceError(f"node {index}: translation, rotation or scale has the wrong length", path)
        local = trimesh.transformations.quaternion_matrix([q[3], q[0], q[1], q[2]])  # w first
        local[:3, :3] = local[:3, :3] @ np.diag(s)
        local[:3, 3] = t
    if not np.all(np.isfinite(local)):
        raise SourceError(f"node {index}: transform is not finite", path)
    return local


class _Buffers:
    """Bytes of every buffer: the GLB binary chunk, ``data:`` URIs or files beside the glTF."""

    def __init__(self, gltf: object, path: Path) -> None:
        self.gltf, self.path = gltf, path
        self._cache: dict[int, bytes] = {}

    def buffer(self, index: int) -> bytes:
        if index not in self._cache:
            buffers = self.gltf.buffers or []  # type: ignore[attr-defined]
            if not 0 <= index < len(buffers):
                raise SourceError(f"buffer {index} does not exist", self.path)
            uri = buffers[index].uri
            if uri is None:
                blob = self.gltf.binary_blob()  # type: ignore[attr-defined]
                data = bytes(blob) if blob is not None else b""
            elif uri.startswith("data:"):
                data = base64.b64decode(uri.split(",", 1)[1])
            else:
                folder = self.path.parent.resolve()
                target = (folder / uri).resolve()
                if folder not in target.parents:  # a model must not read (and publish) other files
                    raise SourceError(f"buffer file {uri[:80]!r} is outside the glTF's folder", self.path)
                if not target.is_file():
                    raise SourceError(f"buffer file {uri[:80]!r} is missing", self.path)
                with target.open("rb") as handle:  # no more than the buffer needs
                    data = handle.read(max(buffers[index].byteLength or 0, 0))
            if len(data) < (buffers[index].byteLength or 0):
                expected = buffers[index].byteLength
                raise SourceError(f"buffer {index} is cut short ({len(data)} of {expected} bytes)", self.path)
            self._cache[index] = data
        return self._cache[index]

    def view(self, index: int) -> tuple[bytes, int, int, int | None]:
        views = self.gltf.bufferViews or []  # type: ignore[attr-defined]
        if not 0 <= index < len(views):
            raise SourceError(f"buffer view {index} does not exist", self.path)
        view = views[index]
        data = self.buffer(view.buffer)
        start, length = view.byteOffset or 0, view.byteLength or 0
        if start < 0 or length < 0 or start + length > len(data):
            raise SourceError(f"buffer view {index} runs past the end of its buffer", self.path)
        return data, start, length, view.byteStride

    def accessor(self, index: int) -> np.ndarray:
        accessors = self.gltf.accessors or []  # type: ignore[attr-defined]
        if not 0 <= index < len(accessors):
            raise SourceError(f"accessor {index} does not exist", self.path)
        acc = accessors[index]
        dtype = np.dtype(_COMPONENTS.get(acc.componentType, np.float32))
        width = _WIDTH.get(acc.type)
        if acc.componentType not in _COMPONENTS or width is None or acc.bufferView is None or acc.sparse is not None:
            layout = f"{str(acc.type)[:20]}, {str(acc.componentType)[:20]}"
            raise SourceError(f"accessor {index}: unsupported layout ({layout})", self.path)
        data, start, length, stride = self.view(acc.bufferView)
        item = dtype.itemsize * width
        stride = stride or item
        offset = start + (acc.byteOffset or 0)
        count = acc.count or 0
        if count and offset + stride * (count - 1) + item > start + length:
            raise SourceError(f"accessor {index} runs past its buffer view", self.path)
        raw = np.ndarray((count, width), dtype=dtype, buffer=data, offset=offset, strides=(stride, dtype.itemsize))
        return np.array(raw)


def _node_mesh(gltf: object, buffers: _Buffers, mesh_index: int, world: np.ndarray, path: Path) -> trimesh.Trimesh | None:
    import DracoPy

    meshes = gltf.meshes or []  # type: ignore[attr-defined]
    if not 0 <= mesh_index < len(meshes):
        raise SourceError(f"mesh {mesh_index} does not exist", path)
    parts: list[trimesh.Trimesh] = []
    for primitive in meshes[mesh_index].primitives or []:
        if primitive.mode not in (None, _TRIANGLES):
            continue  # points and lines carry no surface
        draco = (primitive.extensions or {}).get("KHR_draco_mesh_compression")
        if draco is not None:
            data, start, length, _ = buffers.view(draco["bufferView"])
            decoded = DracoPy.decode(data[start : start + length])
            vertices = np.asarray(decoded.points, dtype=float).reshape(-1, 3)
            faces = np.asarray(decoded.faces, dtype=np.int64).reshape(-1, 3)
        else:
            if primitive.attributes.POSITION is None:
                continue
            vertices = buffers.accessor(primitive.attributes.POSITION).astype(float)
            if primitive.indices is not None:
                faces = buffers.accessor(primitive.indices).astype(np.int64).reshape(-1, 3)
            else:
                faces = np.arange(len(vertices) - len(vertices) % 3, dtype=np.int64).reshape(-1, 3)
        if vertices.shape[1] != 3 or len(faces) == 0:
            continue
        if faces.min() < 0 or faces.max() >= len(vertices):
            raise SourceError(f"mesh {mesh_index}: triangle indices point past the vertices", path)
        if not np.all(np.isfinite(vertices)):
            raise SourceError(f"mesh {mesh_index}: NaN or infinite vertex coordinates", path)
        with np.errstate(over="ignore", invalid="ignore"):
            moved = vertices @ world[:3, :3].T + world[:3, 3]
        if not np.all(np.isfinite(moved)) or np.abs(moved).max() > MAX_COORDINATE:
            raise SourceError(f"mesh {mesh_index}: coordinates beyond ±{MAX_COORDINATE:g} mm", path)
        parts.append(trimesh.Trimesh(vertices=moved, faces=faces, process=True))
    parts = [p for p in parts if len(p.faces)]
    if not parts:
        return None
    mesh = parts[0] if len(parts) == 1 else trimesh.util.concatenate(parts)
    if np.linalg.det(world[:3, :3]) < 0:  # a mirroring node transform turns triangles inside out
        mesh.invert()
    return mesh
