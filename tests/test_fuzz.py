"""Every reader survives hostile files (issue #14).

Property of every reader: it returns a valid result or raises an :class:`AtlasError` whose one-line
message names the file; never another exception, never a hang, never gigabytes allocated because
a header claims a huge size. Inputs are mutations (truncation, flipped bytes, NUL and quote
characters, another file's bytes, UTF-16/Latin-1 text, very long lines) of small synthetic files
and of the real files in ``$MUSCLE_ATLAS_DATA``, and NIfTI headers with extreme fields.

CI runs a fixed-seed, bounded number of examples per reader; ``make fuzz`` sets
``MUSCLE_ATLAS_FUZZ_EXAMPLES`` (10,000 per reader) and runs a random campaign.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import shutil
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fuzz_support import (
    ITKSNAP,
    MAPPING,
    TOML_EXTRA,
    all_seeds,
    check_reader,
    examples_setting,
    glb_blob,
    gltf_seeds,
    gzip_bomb,
    mesh_seeds,
    mutated,
    nifti_files,
    nifti_seeds,
    text_seeds,
    write_case,
)

CAMPAIGN = "MUSCLE_ATLAS_FUZZ_EXAMPLES" in os.environ
_COMMON = {
    "deadline": 5000,  # ms per example: far above any reader's time on these small files
    "database": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
}
settings.register_profile("muscle-atlas-ci", derandomize=True, **_COMMON)
settings.register_profile("muscle-atlas-fuzz", derandomize=False, **_COMMON)
PROFILE = settings.get_profile("muscle-atlas-fuzz" if CAMPAIGN else "muscle-atlas-ci")


def fuzz(ci_examples: int) -> settings:
    """The profile with this reader's number of examples (fixed in CI, the campaign's in ``make fuzz``)."""
    return settings(PROFILE, max_examples=examples_setting(ci_examples))


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="muscle-atlas-fuzz-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


# --- label tables -------------------------------------------------------------------------------------

TABLE_NAMES = ["labels.txt", "labels.tsv", "table.csv", "seg.json", "colors.ctbl", "FreeSurferColorLUT.txt",
               "tabla Ü señal.txt", "no-extension", "blob.bin"]  # fmt: skip


def _valid_table(table: Any) -> None:
    from muscle_atlas.sources.labels import LabelTable

    assert isinstance(table, LabelTable) and len(table) > 0
    for value, entry in table.entries.items():
        assert isinstance(value, int) and value == entry.value and -(2**31) <= value < 2**31
        assert isinstance(entry.name, str) and entry.name.strip()


@fuzz(300)
@given(content=mutated(text_seeds(), all_seeds()), name=st.sampled_from(TABLE_NAMES))
@example(content=glb_blob(), name="blob.bin")  # issue #14: the first 200 KB of a GLB as a table
@example(content=b"label,name\n1,soleus\r2,tibia\n", name="t.csv")  # csv: new-line character in unquoted field
@example(content=b"label,name\n1,sol\0eus\n", name="t.csv")  # csv: line contains NUL
@example(content=b'label,name\n1,"' + b"x" * 140_000 + b'"\n', name="t.csv")  # csv: field larger than field limit
@example(content=b'{"Labels": [{"Value": Infinity, "Name": "x"}]}', name="s.json")  # int(inf)
@example(content=b"[" * 100_000 + b"]" * 100_000, name="s.json")  # RecursionError
@example(content=ITKSNAP.replace("255   38", "1e999  38").encode(), name="l.txt")  # int(float("1e999"))
@example(content=b"0 Background 0 0 0 0\n1 soleus inf 0 0 255\n", name="x.ctbl")
@example(content=ITKSNAP.encode("utf-16"), name="excel.txt")  # Excel's "Unicode text"
@example(content=ITKSNAP.encode("utf-16-le"), name="excel.txt")  # the same without a BOM
@example(content=b"label,name\n1," + b"a " * 60_000 + b"\n", name="t.csv")  # a name nobody can match quickly
def test_label_table_reader(scratch: Path, content: bytes, name: str) -> None:
    from muscle_atlas.sources.labels import read_label_table

    check_reader(read_label_table, write_case(scratch, name, content), _valid_table)


def test_excel_utf16_table_is_read(scratch: Path) -> None:
    from muscle_atlas.sources.labels import read_label_table

    text = "label\tname\r\n1\tSoleus links\r\n2\tGastrocnémius\r\n"
    for encoding in ("utf-16", "utf-16-le", "utf-16-be"):
        table = read_label_table(write_case(scratch, "excel.txt", text.encode(encoding)))
        assert table.entries[2].name == "Gastrocnémius", encoding
    latin = read_label_table(write_case(scratch, "latin.txt", text.encode("latin-1")))
    assert latin.entries[2].name == "Gastrocnémius"


# --- NIfTI label volumes ------------------------------------------------------------------------------


def _valid_volume(volume: Any) -> None:
    from muscle_atlas.sources.volume import LabelVolume

    assert isinstance(volume, LabelVolume)
    assert volume.data.ndim == 3 and volume.data.dtype == np.int32 and volume.data.size > 0
    assert volume.affine.shape == (4, 4) and np.all(np.isfinite(volume.affine))
    assert np.isfinite(volume.voxel_volume_mm3) and volume.voxel_volume_mm3 > 0
    counts = volume.label_counts()
    assert sum(counts.values()) <= volume.data.size


def _header_claiming(dims: tuple[int, ...], nifti2: bool = False, datatype: int = 2) -> bytes:
    from fuzz_support import edit_header

    raw = nifti_seeds()["nifti2" if nifti2 else "uint8"]
    edits = [("dim", 0, len(dims))] + [("dim", i + 1, d) for i, d in enumerate(dims)] + [("datatype", 0, datatype)]
    return edit_header(raw, edits, None)


@fuzz(300)
@given(case=nifti_files())
@example(case=("labels.nii", _header_claiming((32767, 32767, 32767), datatype=64)))  # 2.8e14 bytes claimed
@example(case=("labels.nii.gz", gzip.compress(_header_claiming((10**9, 10**9, 1), nifti2=True))))
@example(case=("labels.nii.gz", gzip_bomb(_header_claiming((4096, 4096, 4096)), 1 << 20)))  # 64 GB claimed, 1 MB inside
@example(case=("labels.nii", _header_claiming((0, 5, 4))))  # no voxels
def test_nifti_volume_reader(scratch: Path, case: tuple[str, bytes]) -> None:
    from muscle_atlas.sources.volume import read_volume

    name, content = case
    check_reader(read_volume, write_case(scratch, name, content), _valid_volume)


@fuzz(100)
@given(content=mutated({k: v for k, v in all_seeds().items() if not k.startswith("nifti:")}),
       name=st.sampled_from(["labels.nii", "labels.nii.gz", "seg.NII.GZ"]))  # fmt: skip
def test_nifti_reader_on_other_files(scratch: Path, content: bytes, name: str) -> None:
    from muscle_atlas.sources.volume import read_volume

    check_reader(read_volume, write_case(scratch, name, content), _valid_volume)


def test_real_label_volumes_still_read(data: Path) -> None:
    from muscle_atlas.sources.volume import read_volume

    for path in sorted(data.glob("*/labels.nii.gz")) + sorted(data.glob("totalsegmentator-example/example_seg*.nii.gz")):
        assert read_volume(path).label_counts(), path


# --- meshes -----------------------------------------------------------------------------------------


def _valid_mesh(mesh: Any) -> None:
    assert len(mesh.faces) > 0 and np.all(np.isfinite(mesh.vertices))
    assert int(mesh.faces.max()) < len(mesh.vertices) and int(mesh.faces.min()) >= 0


@fuzz(300)
@given(content=mutated(mesh_seeds(), all_seeds()), suffix=st.sampled_from([".stl", ".obj", ".ply", ".STL"]))
@example(content=b"mtllib /dev/zero\nusemtl x\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", suffix=".obj")
@example(content=b"solid x\n" + struct.pack("<I", 0) * 18 + struct.pack("<I", 10**9), suffix=".stl")
@example(content=b"ply\nformat ascii 1.0\nelement vertex 1000000000\nproperty float x\nproperty float y\n"
         b"property float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n",
         suffix=".ply")  # fmt: skip
@example(content=b"v nan 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", suffix=".obj")
def test_mesh_reader(scratch: Path, content: bytes, suffix: str) -> None:
    from muscle_atlas.sources.meshes import read_mesh

    check_reader(read_mesh, write_case(scratch, f"soleus{suffix}", content), _valid_mesh)


# --- glTF / GLB -------------------------------------------------------------------------------------

HAS_GLTF = importlib.util.find_spec("muscle_atlas.sources.gltf") is not None


@pytest.mark.skipif(not HAS_GLTF, reason="no glTF reader yet")
@fuzz(200)
@given(content=mutated(gltf_seeds(), all_seeds()), suffix=st.sampled_from([".glb", ".gltf"]))
@example(content=glb_blob(), suffix=".glb")  # a GLB whose binary chunk is cut short
def test_gltf_reader(scratch: Path, content: bytes, suffix: str) -> None:
    from muscle_atlas.sources import gltf  # type: ignore[attr-defined]

    read = gltf.read_gltf
    check_reader(read, write_case(scratch, f"model{suffix}", content), lambda result: None)


# --- mapping files and atlas.toml -------------------------------------------------------------------


def _valid_mapping(mapping: Any) -> None:
    assert isinstance(mapping, dict) and all(isinstance(k, str) for k in mapping)


@fuzz(200)
@given(content=mutated({"mapping": MAPPING.encode()}, all_seeds()))
@example(content=b"a" + b" " * 100_000 + b"b\n")  # quadratic split of a long line without a separator
@example(content=MAPPING.encode("utf-16"))
@example(content=b"17 = soleus r\xe9chts\n")  # Latin-1
def test_mapping_reader(scratch: Path, content: bytes) -> None:
    from muscle_atlas.anatomy.match import read_mapping

    check_reader(read_mapping, write_case(scratch, "calf.map", content), _valid_mapping)


@fuzz(200)
@given(content=mutated({"toml": text_seeds()["toml"], "toml-extra": TOML_EXTRA.encode()}, all_seeds()))
@example(content=b"a = " + b"[" * 5000 + b"]" * 5000)  # RecursionError in tomllib
@example(content=b'[source]\npath = "seg\\u0000.nii.gz"\n')  # embedded NUL in a path
@example(content=b'[source]\nlabels = "' + b"x" * 5000 + b'"\n')  # file name too long
@example(content=b'[render]\nbackground = "\\u0000"\n')
def test_atlas_toml_reader(scratch: Path, content: bytes) -> None:
    from muscle_atlas.config import load_project

    check_reader(load_project, write_case(scratch, "atlas.toml", content), lambda project: None)
