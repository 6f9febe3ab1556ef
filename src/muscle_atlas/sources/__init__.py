"""Readers for every input users have: label volumes, label tables and mesh folders."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from muscle_atlas.errors import SourceError
from muscle_atlas.sources.gltf import is_gltf_path, read_gltf
from muscle_atlas.sources.labels import LabelEntry, LabelTable, read_label_table
from muscle_atlas.sources.meshes import MeshFile
from muscle_atlas.sources.meshfolder import read_mesh_folder
from muscle_atlas.sources.volume import LabelVolume, is_nifti_path, read_volume

__all__ = [
    "LabelEntry",
    "LabelTable",
    "LabelVolume",
    "MeshFile",
    "Source",
    "open_source",
    "read_label_table",
]


@dataclass
class Source:
    """What a user handed us: a label volume (with an optional table), a mesh folder or a glTF scene."""

    path: Path
    volume: LabelVolume | None = None
    table: LabelTable | None = None
    meshes: list[MeshFile] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "volume" if self.volume is not None else "meshes"

    def label_names(self) -> dict[str, str]:
        """Structure key → the name to match: table names (or the bare value) for volumes,
        file names for meshes."""
        if self.volume is None:
            return {m.name: m.name for m in self.meshes}
        present = self.volume.label_counts()
        names: dict[str, str] = {}
        for value in sorted(set(present) | set(self.table.entries if self.table else {})):
            name = self.table.name(value) if self.table else None
            names[str(value)] = name if name is not None else str(value)
        return names


def open_source(path: str | Path, labels: str | Path | None = None) -> Source:
    """Open a NIfTI label volume (with an optional label table), a folder of meshes or a glTF scene."""
    path = Path(path)
    if not path.exists():
        raise SourceError("no such file or folder", path)
    if path.is_dir():
        if labels is not None:
            raise SourceError("--labels applies to label volumes, not to mesh folders", path)
        return Source(path=path, meshes=read_mesh_folder(path))
    if is_gltf_path(path):
        if labels is not None:
            raise SourceError("--labels applies to label volumes, not to glTF scenes", path)
        return Source(path=path, meshes=read_gltf(path))
    if is_nifti_path(path):
        table = read_label_table(labels) if labels is not None else None
        return Source(path=path, volume=read_volume(path), table=table)
    if path.suffix.lower() in (".stl", ".obj", ".ply"):
        raise SourceError("a single mesh: pass the folder that holds one mesh per structure", path)
    return Source(path=path, volume=read_volume(path))
