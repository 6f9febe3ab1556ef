"""Mesh folders: one surface per structure (STL, OBJ, PLY; glTF scenes in it hold several), named
by its file name, in the folder or its sub-folders (``Left/``, ``Right/``)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from muscle_atlas.errors import SourceError
from muscle_atlas.sources.gltf import read_gltf
from muscle_atlas.sources.meshes import MeshFile, read_mesh

MESH_SUFFIXES = (".stl", ".obj", ".ply", ".glb", ".gltf")


def list_mesh_files(folder: Path) -> list[Path]:
    """Mesh files of a folder and its sub-folders (e.g. Left/ and Right/), sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in MESH_SUFFIXES)


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
    plain = [p for p in files if p.suffix.lower() not in (".glb", ".gltf")]
    with ThreadPoolExecutor(2) as pool:
        meshes = dict(zip(plain, pool.map(read_mesh, plain), strict=True))
    result = []
    for path in files:
        if path in meshes:
            result.append(MeshFile(name=path.stem, path=path, mesh=meshes[path]))
        else:  # a scene: one structure per named node
            result.extend(read_gltf(path))
    return result
