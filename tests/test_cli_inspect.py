"""The ``inspect`` command as users run it, on every file of the real data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from muscle_atlas.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "muscle_atlas", *args], capture_output=True, text=True, check=False)


def test_help_and_version() -> None:
    assert "inspect" in run_cli("--help").stdout
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("muscle-atlas ")


@pytest.mark.parametrize(
    "args",
    [
        ("inspect", "/nonexistent/seg.nii.gz"),
        ("inspect", "README.md"),
        ("inspect", "/nonexistent", "--labels", "totalsegmentator:nope"),
    ],
)
def test_user_errors_are_one_line_with_status_2(args: tuple[str, ...]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("muscle-atlas: error: ")
    assert "Traceback" not in result.stderr


def test_bad_label_table_names_file_and_line(tmp_path: Path, data: Path) -> None:
    table = tmp_path / "bad.txt"
    table.write_text('    1   255  192  203        1  1  1    "1 Soleus"\n    2  1 2\n')
    result = run_cli("inspect", str(data / "qmritools-calf-mri/labels.nii.gz"), "--labels", str(table))
    assert result.returncode == 2
    assert f"{table}: line 2:" in result.stderr


def _inspect_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["inspect", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_calf_mri_without_table(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = _inspect_json(capsys, str(data / "qmritools-calf-mri/labels.nii.gz"))
    labels = [r["label"] for r in result["rows"]]
    assert labels == list(range(13, 27))
    assert result["voxel_size_mm"] == [3.0, 3.0, 6.0]
    soleus = {r["label"]: r for r in result["rows"]}[17]
    assert soleus["volume_ml"] == pytest.approx(soleus["count"] * 54 / 1000)
    # Labels 17/18 are the two soleus muscles: one in each leg (opposite signs of R).
    r17 = {r["label"]: r for r in result["rows"]}[17]
    r18 = {r["label"]: r for r in result["rows"]}[18]
    assert r17["bbox_min_mm"][0] > 0 > r18["bbox_max_mm"][0]


def test_calf_mri_with_a_table(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "calf.tsv"
    table.write_text("label\tname\n17\tsoleus_left\n18\tsoleus_right\n99\tghost\n")
    result = _inspect_json(capsys, str(data / "qmritools-calf-mri/labels.nii.gz"), "--labels", str(table))
    rows = {r["label"]: r for r in result["rows"]}
    assert rows[17]["name"] == "soleus_left" and rows[18]["name"] == "soleus_right"
    assert rows[13]["warnings"] == ["label present in the volume but absent from the table"]
    assert rows[99]["warnings"] == ["table entry absent from the volume"]


@pytest.mark.parametrize(
    ("volume", "task", "expected"),
    [
        ("example_seg.nii.gz", "total", {"liver", "spleen"}),
        ("example_seg_mr.nii.gz", "total_mr", {"autochthon_left", "iliopsoas_right"}),
    ],
)
def test_totalsegmentator_examples(
    data: Path, capsys: pytest.CaptureFixture[str], volume: str, task: str, expected: set[str]
) -> None:
    folder = data / "totalsegmentator-example"
    result = _inspect_json(capsys, str(folder / volume), "--labels", f"totalsegmentator:{task}")
    present = {r["name"] for r in result["rows"] if r["count"] > 0}
    assert expected <= present
    # The shipped task map and the reference TSV beside the example agree.
    reference = _inspect_json(capsys, str(folder / volume), "--labels", str(folder / f"labels-{task}.tsv"))
    assert [(r["label"], r["name"], r["count"]) for r in reference["rows"]] == [
        (r["label"], r["name"], r["count"]) for r in result["rows"]
    ]


def test_vhf_mesh_folder(vhf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pyvista as pv

    result = _inspect_json(capsys, str(vhf))
    rows = {r["name"]: r for r in result["rows"]}
    assert len(rows) == len(list(vhf.rglob("*.stl")))
    assert sum(1 for n in rows if "_Muscle_" in n and "_Left_" in n) == 38
    assert sum(1 for n in rows if "_Muscle_" in n and "_Right_" in n) == 37
    soleus = rows["VHF_Left_Muscle_Soleus_smooth"]
    # Independent computation of the enclosed volume: VTK's vtkMassProperties (via pyvista).
    independent_ml = pv.read(vhf / "Left" / "VHF_Left_Muscle_Soleus_smooth.stl").volume / 1000
    assert soleus["volume_ml"] == pytest.approx(independent_ml, rel=0.005)
    assert 250 < soleus["volume_ml"] < 450  # an adult soleus


def test_label_tables_folder_all_parse(data: Path) -> None:
    from muscle_atlas.sources import read_label_table

    for path in sorted((data / "label-tables").glob("qmritools-*.txt")):
        table = read_label_table(path)
        assert table.format == "itksnap", path
        assert len(table) >= 14, path
