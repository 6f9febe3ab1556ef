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
import json
import os
import shutil
import struct
import subprocess
import sys
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
    gltf_files,
    gltf_scaled,
    gltf_seeds,
    gzip_bomb,
    mesh_files,
    mesh_seeds,
    mutated,
    nifti_files,
    nifti_seeds,
    text_seeds,
    watchdog,
    write_case,
)
from muscle_atlas.errors import AtlasError

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
@example(content=b"value,name,r,g,b\n1,S", name="t.csv")  # a row without its colour columns: IndexError
@example(content=ITKSNAP.replace('"5 Soleus Left"', '""').encode(), name="l.txt")  # an empty name (campaign)
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


@fuzz(300)
@given(case=mesh_files())
@example(case=("soleus.obj", b"v   \nf 1 1 1\n"))  # a face but no vertex: max() of an empty array
def test_mesh_reader_on_extreme_numbers(scratch: Path, case: tuple[str, bytes]) -> None:
    from muscle_atlas.sources.meshes import read_mesh

    name, content = case
    check_reader(read_mesh, write_case(scratch, name, content), _valid_mesh)


# --- glTF / GLB -------------------------------------------------------------------------------------

HAS_GLTF = importlib.util.find_spec("muscle_atlas.sources.gltf") is not None


def _valid_scene(meshes: Any) -> None:
    assert isinstance(meshes, list) and meshes
    for item in meshes:
        assert isinstance(item.name, str) and item.name
        _valid_mesh(item.mesh)


@pytest.mark.skipif(not HAS_GLTF, reason="no glTF reader yet")
@fuzz(200)
@given(content=mutated(gltf_seeds(), all_seeds()), suffix=st.sampled_from([".glb", ".gltf"]))
@example(content=glb_blob(), suffix=".glb")  # a GLB whose binary chunk is cut short
@example(
    content=json.dumps(
        {
            "asset": {"version": "2.0"},
            "nodes": [{"mesh": 0}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
            "accessors": [{"componentType": 5126, "type": "a" * 2000, "bufferView": 0}],
        }
    ).encode(),
    suffix=".gltf",
)  # the whole accessor type echoed in the error
def test_gltf_reader(scratch: Path, content: bytes, suffix: str) -> None:
    from muscle_atlas.sources.gltf import read_gltf

    check_reader(read_gltf, write_case(scratch, f"model{suffix}", content), _valid_scene)


@pytest.mark.skipif(not HAS_GLTF, reason="no glTF reader yet")
@fuzz(300)
@given(case=gltf_files())
@example(case=("model.glb", gltf_scaled(1e308)))  # parent @ local overflows: a warning, then inf vertices
def test_gltf_reader_on_extreme_fields(scratch: Path, case: tuple[str, bytes]) -> None:
    from muscle_atlas.sources.gltf import read_gltf

    name, content = case
    check_reader(read_gltf, write_case(scratch, name, content), _valid_scene)


# --- mapping files and atlas.toml -------------------------------------------------------------------


def _valid_mapping(mapping: Any) -> None:
    assert isinstance(mapping, dict) and all(isinstance(k, str) for k in mapping)


@fuzz(200)
@given(content=mutated({"mapping": MAPPING.encode()}, all_seeds()))
@example(content=b"a" + b" " * 100_000 + b"b\n")  # quadratic split of a long line without a separator
@example(content=MAPPING.encode("utf-16"))
@example(content=b"17 = soleus r\xe9chts\n")  # Latin-1
def test_mapping_reader(scratch: Path, content: bytes) -> None:
    from muscle_atlas.anatomy.mapping import read_mapping

    check_reader(read_mapping, write_case(scratch, "calf.map", content), _valid_mapping)


@fuzz(200)
@given(content=mutated({"toml": text_seeds()["toml"], "toml-extra": TOML_EXTRA.encode()}, all_seeds()))
@example(content=b"a = " + b"[" * 5000 + b"]" * 5000)  # RecursionError in tomllib
@example(content=b'[source]\npath = "seg\\u0000.nii.gz"\n')  # embedded NUL in a path
@example(content=b'[source]\nlabels = "' + b"x" * 5000 + b'"\n')  # file name too long
@example(content=b'[render]\nbackground = "\\u0000"\n')
@example(content=b"[structures]\ninclude = [" + b"9" * 4301 + b"]\n")  # int() of 4,301 digits: ValueError
def test_atlas_toml_reader(scratch: Path, content: bytes) -> None:
    from muscle_atlas.config import load_project

    check_reader(load_project, write_case(scratch, "atlas.toml", content), lambda project: None)


# --- quantitative maps ------------------------------------------------------------------------------

HAS_MAPS = importlib.util.find_spec("muscle_atlas.quantities.maps") is not None


def _read_map(path: Path) -> Any:
    """A file as a scalar map and, when it opens as one, as a diffusion tensor; voxels read."""
    from muscle_atlas.quantities.maps import ScalarGroup, TensorGroup
    from muscle_atlas.quantities.specs import DEFAULT_DTI_ORDER, ScalarMapSpec

    try:
        group = ScalarGroup(ScalarMapSpec("FF", path, "%"))
    except AtlasError:
        group = TensorGroup(path, DEFAULT_DTI_ORDER)
    group.load()
    return group


@pytest.mark.skipif(not HAS_MAPS, reason="no quantitative-map reader yet")
@fuzz(300)
@given(case=nifti_files())
@example(case=("labels.nii", _header_claiming((32767, 32767, 32767), datatype=64)))
@example(case=("labels.nii.gz", gzip_bomb(_header_claiming((4096, 4096, 4096)), 1 << 20)))
def test_quantitative_map_reader(scratch: Path, case: tuple[str, bytes]) -> None:
    name, content = case
    check_reader(_read_map, write_case(scratch, name, content), lambda group: None)


# --- the hostile corpus and the command-line contract --------------------------------------------------

HOSTILE = Path(__file__).resolve().parent / "hostile"
READABLE = {  # hostile-looking but fine: read as they are
    "tables/excel-utf16.txt", "tables/utf16-no-bom.tsv", "tables/latin1.csv", "tables/old-mac.csv",
    "maps/utf16.map", "meshes/mtllib-dev-zero",
    "volumes/inf-scale.nii", "volumes/zero-voxel-size.nii",  # nibabel ignores them, with a warning
}  # fmt: skip
READABLE_AS_MAP = {"volumes/labels-2e12.nii", "volumes/nan-data.nii"}  # no labels, but fine as maps
READABLE.add("volumes/label-2147483647.nii")  # a valid volume whose largest label is 2**31 - 1
KNOWN_BUGS: dict[str, str] = {}  # found by this corpus outside the readers: xfail (strict) until fixed


def test_corpus_is_small_and_what_the_generator_writes() -> None:
    from fuzz_corpus import MAX_FILE, corpus

    expected = corpus()
    found = {str(p.relative_to(HOSTILE)): p.read_bytes() for p in HOSTILE.rglob("*") if p.is_file()}
    assert found.keys() == expected.keys(), "regenerate with: python tests/fuzz_corpus.py"
    assert [n for n in expected if found[n] != expected[n]] == [], "regenerate with: python tests/fuzz_corpus.py"
    assert max(len(c) for c in found.values()) < MAX_FILE and sum(len(c) for c in found.values()) < 500_000


def _corpus_inputs() -> list[str]:
    """Corpus entries as the commands take them: files, and mesh folders."""
    entries = {str(p.relative_to(HOSTILE)) for p in HOSTILE.rglob("*") if p.is_file()}
    return sorted({e.rsplit("/", 1)[0] if e.startswith("meshes/") else e for e in entries})


def test_label_boxes_do_not_allocate_a_slot_per_label_value() -> None:
    from muscle_atlas.sources.volume import read_volume

    volume = read_volume(HOSTILE / "volumes/label-2147483647.nii")
    with watchdog(memory=256 << 20):
        boxes = volume.label_boxes()
    assert set(boxes) == {18, 2**31 - 1} and boxes[2**31 - 1] == (slice(1, 4), slice(1, 5), slice(1, 3))


@pytest.mark.parametrize("entry", _corpus_inputs())
def test_every_reader_survives_every_corpus_file(entry: str) -> None:
    """Each corpus entry through every reader, whatever its extension says."""
    from muscle_atlas.anatomy.mapping import read_mapping
    from muscle_atlas.config import load_project
    from muscle_atlas.sources import open_source
    from muscle_atlas.sources.labels import read_label_table
    from muscle_atlas.sources.meshes import read_mesh
    from muscle_atlas.sources.meshfolder import read_mesh_folder
    from muscle_atlas.sources.volume import read_volume

    path = HOSTILE / entry
    readers: list[Any] = [open_source]
    if path.is_dir():
        readers += [read_mesh_folder]
    else:
        readers += [read_label_table, read_volume, read_mesh, read_mapping, load_project]
        if HAS_GLTF:
            from muscle_atlas.sources.gltf import read_gltf

            readers.append(read_gltf)
        if HAS_MAPS:
            readers.append(_read_map)
    for read in readers:
        check_reader(read, path, lambda result: None)


@pytest.fixture(scope="module")
def calf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small label volume (labels 17 and 18) for the commands that take a table or a map."""
    import nibabel as nib

    from fuzz_corpus import _labels

    path = tmp_path_factory.mktemp("calf") / "calf.nii.gz"
    nib.save(nib.Nifti1Image(_labels(), np.diag([2.0, 2.0, 3.0, 1.0])), path)
    path.with_name("calf.tsv").write_text("label\tname\n17\tsoleus right\n18\tsoleus left\n")
    return path


def _commands(entry: str, calf: Path, out: Path) -> list[list[str]]:
    """The commands that read ``entry``: as a source, a table, a mapping file, a project, a map."""
    path = str(HOSTILE / entry)
    kind = entry.split("/", 1)[0]
    if kind == "tables":
        return [["inspect", str(calf), "--labels", path], ["match", path], ["match", str(calf), "--labels", path]]
    if kind in ("volumes", "meshes", "gltf"):
        commands = [["inspect", path], ["match", path, "--json"]]
        if kind == "volumes" and HAS_MAPS:
            table = str(calf.with_name("calf.tsv"))
            commands.append(["quantify", str(calf), "--labels", table, "--map", f"FF={path}", "-o", str(out)])
        return commands
    if kind == "maps":
        return [["match", str(calf), "--map", path]]
    if kind == "projects":
        return [["build", "--config", path, "-o", str(out)]]
    raise AssertionError(entry)


def _check_outcome(entry: str, command: list[str], code: int, err: str) -> None:
    lines = err.strip().splitlines()
    if entry in READABLE or (command[0] == "quantify" and entry in READABLE_AS_MAP):
        assert code == 0, f"{command}: exit {code}, {err!r}"
        return
    assert code == 2, f"{command}: exit {code}, {err!r}"
    assert len(lines) == 1 and lines[0].startswith("muscle-atlas: error: "), f"{command}: {err!r}"
    assert Path(entry).name in lines[0], f"{command}: the error does not name the file: {lines[0]!r}"
    assert "Traceback" not in err and "\x1b" not in err


@pytest.mark.parametrize(
    "entry",
    [pytest.param(e, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[e])) if e in KNOWN_BUGS else e
     for e in _corpus_inputs()],
)  # fmt: skip
def test_commands_give_one_line_and_status_2_on_every_corpus_file(
    entry: str, calf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from muscle_atlas.cli import main

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # crash reports of known bugs stay here

    for command in _commands(entry, calf, tmp_path / "out"):
        code = main(command)
        _check_outcome(entry, command, code, capsys.readouterr().err)
    assert not (tmp_path / "out").exists() or entry in READABLE | READABLE_AS_MAP


def _console(*args: str, **options: Any) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "muscle-atlas"
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=120, check=False, **options)


def test_console_script_on_hostile_files(calf: Path, tmp_path: Path) -> None:
    """The installed ``muscle-atlas`` itself, for a representative set (all in parallel)."""
    blob = str(HOSTILE / "tables/blob.bin")
    cases = [
        ("tables/blob.bin", ["inspect", str(calf), "--labels", blob]),  # issue #14
        ("tables/blob.bin", ["match", blob]),  # issue #14
        ("tables/blob.bin", ["render", str(calf), "--labels", blob, "-o", str(tmp_path / "r"), "--views", "1"]),
        ("volumes/gzip-bomb.nii.gz", ["build", str(HOSTILE / "volumes/gzip-bomb.nii.gz"), "-o", str(tmp_path / "s")]),
        ("projects/deep.toml", ["build", "--config", str(HOSTILE / "projects/deep.toml")]),
        ("meshes/nan-vertices", ["inspect", str(HOSTILE / "meshes/nan-vertices")]),
        ("maps/long-line.map", ["match", str(calf), "--map", str(HOSTILE / "maps/long-line.map")]),
        ("gltf/cut.glb", ["match", str(HOSTILE / "gltf/cut.glb")]),
        ("tables/blob.bin", ["serve", blob]),
        ("tables/blob.bin", ["new", blob]),
    ]
    if HAS_MAPS:
        huge = str(HOSTILE / "volumes/huge-dims.nii")
        table = str(calf.with_name("calf.tsv"))
        command = ["quantify", str(calf), "--labels", table, "--map", f"FF={huge}", "-o", str(tmp_path / "q")]
        cases.append(("volumes/huge-dims.nii", command))
    script = Path(sys.executable).parent / "muscle-atlas"
    pipes = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "text": True}
    pipes["env"] = {**os.environ, "TMPDIR": str(tmp_path)}
    running = [(entry, command, subprocess.Popen([str(script), *command], **pipes)) for entry, command in cases]
    for entry, command, process in running:
        _, err = process.communicate(timeout=120)
        _check_outcome(entry, command, process.returncode, err)


def test_kb_with_a_hostile_query_is_one_line(tmp_path: Path) -> None:
    result = _console("kb", "\x1b[2J" + "soleus\n" * 2000, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr[:300]
    assert "\x1b" not in result.stderr


def test_a_bug_of_ours_prints_one_line_and_writes_a_crash_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import platform

    from muscle_atlas import __version__
    from muscle_atlas.cli import EXIT_BUG, main
    from muscle_atlas.commands import kb

    def broken(*args: object) -> int:
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(kb, "run", broken)
    monkeypatch.delenv("MUSCLE_ATLAS_DEBUG", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert main(["kb", "soleus"]) == EXIT_BUG
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "internal error (RuntimeError: a bug of ours)" in err[0] and "bug" in err[0]
    reports = list(tmp_path.glob("muscle-atlas-crash-*.txt"))
    assert len(reports) == 1 and str(reports[0]) in err[0]
    report = reports[0].read_text()
    for expected in ("Traceback", "RuntimeError: a bug of ours", __version__, "'kb', 'soleus'", platform.platform(),
                     sys.version.split()[0], "nibabel "):  # fmt: skip
        assert expected in report, expected


def test_a_bug_in_a_real_process_has_no_traceback_on_the_terminal(tmp_path: Path) -> None:
    code = (
        "import sys; from muscle_atlas.commands import match; from muscle_atlas.cli import main\n"
        "def boom(*a): raise KeyError('boom')\n"
        "match.run = boom\nsys.exit(main(['match', 'x']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "TMPDIR": str(tmp_path), "MUSCLE_ATLAS_DEBUG": ""}, check=False)  # fmt: skip
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "KeyError" in (next(tmp_path.glob("muscle-atlas-crash-*.txt"))).read_text()


def test_a_closed_pipe_is_not_a_crash(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "muscle-atlas"
    process = subprocess.Popen([str(script), "kb", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "TMPDIR": str(tmp_path)})  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(10)
    process.stdout.close()
    err = process.stderr.read()
    process.wait(timeout=120)
    assert b"Traceback" not in err and b"internal error" not in err and not list(tmp_path.glob("*crash*"))
