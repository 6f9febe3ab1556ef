"""Mesh sources: a folder with one surface per structure (STL, OBJ, PLY; glTF scenes hold several)."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from muscle_atlas.errors import SourceError, one_line

MESH_SUFFIXES = (".stl", ".obj", ".ply", ".glb", ".gltf")
MAX_COORDINATE = 1e9  # in any unit: a kilometre-sized structure is garbage, and its products overflow


@dataclass
class MeshFile:
    """One structure's surface; ``name`` is the file name without its extension."""

    name: str
    path: Path
    mesh: trimesh.Trimesh


def list_mesh_files(folder: Path) -> list[Path]:
    """Mesh files of a folder and its sub-folders (e.g. Left/ and Right/), sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in MESH_SUFFIXES)


def read_mesh(path: Path) -> trimesh.Trimesh:
    """Read one mesh file; empty or corrupt files raise :class:`SourceError`.

    Only the geometry is read, from the file's own bytes: no material, texture or other file
    that it names is opened (an OBJ or PLY can name any file, /dev/zero included)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read ({exc.strerror or exc})", path) from exc
    if not data:
        raise SourceError("empty mesh file", path)
    try:
        with warnings.catch_warnings():  # numpy's complaints about garbage: the checks below report it
            warnings.simplefilter("ignore")
            kind = path.suffix.lower().lstrip(".")
            loaded = trimesh.load(io.BytesIO(data), file_type=kind, force="mesh", process=False)
    except Exception as exc:  # trimesh raises many types for corrupt files
        raise SourceError(f"corrupt or unreadable mesh ({type(exc).__name__}: {one_line(exc)})", path) from exc
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise SourceError("mesh has no triangles", path)
    vertices, faces = np.asarray(loaded.vertices), np.asarray(loaded.faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3:
        raise SourceError("corrupt or unreadable mesh (vertices without three coordinates)", path)
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise SourceError("mesh has triangles whose corners are not among its vertices", path)
    if not np.all(np.isfinite(vertices)):
        raise SourceError("mesh has NaN or infinite coordinates", path)
    if np.abs(vertices).max() > MAX_COORDINATE:
        raise SourceError(f"mesh has coordinates beyond ±{MAX_COORDINATE:g}: not an anatomical surface", path)
    try:
        loaded.process()  # merge duplicate vertices (what process=True does), on checked numbers only
    except Exception as exc:
        raise SourceError(f"corrupt or unreadable mesh ({type(exc).__name__}: {one_line(exc)})", path) from exc
    if len(loaded.faces) == 0:
        raise SourceError("mesh has no triangles", path)
    return loaded


def read_mesh_folder(folder: str | Path) -> list[MeshFile]:
    folder = Path(folder)
    if not folder.exists():
        raise SourceError("no such folder", folder)
    if not folder.is_dir():
        raise SourceError("not a folder of meshes", folder)
    files = list_mesh_files(folder)
    if not files:
        raise SourceError(f"no mesh files ({', '.join(MESH_SUFFIXES)}) in this folder", folder)
    names: dict[str, Path] = {}
    for path in files:
        if path.stem in names:
            raise SourceError(f"two meshes are named {path.stem!r} ({names[path.stem]})", path)
        names[path.stem] = path
    # Two threads read the files: trimesh's vertex merging is numpy work that releases the GIL
    # (about twice as fast on 62 VHF files).
    from concurrent.futures import ThreadPoolExecutor

    plain = [p for p in files if p.suffix.lower() not in (".glb", ".gltf")]
    with ThreadPoolExecutor(2) as pool:
        meshes = dict(zip(plain, pool.map(read_mesh, plain), strict=True))
    result = []
    for path in files:
        if path in meshes:
            result.append(MeshFile(name=path.stem, path=path, mesh=meshes[path]))
        else:  # a scene: one structure per named node
            from muscle_atlas.sources.gltf import read_gltf

            result.extend(read_gltf(path))
    return result
