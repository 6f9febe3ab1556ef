"""Study atlases: discovery, sides, measures checked independently, z-scores, Dask (a killed worker,
incremental runs counted by tasks), failures, and the site built from the real thigh cohort."""

from __future__ import annotations

import csv
import os
import re
import signal
import threading
import time
from collections import defaultdict
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from muscle_atlas.cli import main
from muscle_atlas.study.discover import discover, inherited, parse_bids_name
from muscle_atlas.study.model import StudyError

REPEATS = ("THIGH022", "THIGH026", "THIGH031")


def _cohort(data: Path) -> Path:
    folder = data / "thigh-cohort"
    if not folder.is_dir():
        pytest.skip("the thigh cohort is not in the data folder")
    return folder


def _read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _manifest(path: Path, cohort: Path, entries: list[tuple[str, str]], extra: str = "") -> Path:
    """A manifest naming segmentations of the real cohort where they are (nothing is copied)."""
    rows = ["subject,session,acquisition,segmentation,labels"]
    for subject, acquisition in entries:
        seg = cohort / f"sub-{subject}" / "anat" / f"sub-{subject}_acq-{acquisition}_dseg.nii.gz"
        rows.append(f"{subject},,{acquisition},{seg},{cohort / 'dseg.tsv'}")
    path.write_text("\n".join(rows) + "\n" + extra, encoding="utf-8")
    participants = (cohort / "participants.tsv").read_text(encoding="utf-8")
    (path.parent / "participants.tsv").write_text(participants, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# Discovery


def test_bids_names_and_inheritance(tmp_path: Path) -> None:
    entities = {"sub": "01", "ses": "2", "acq": "T1w"}
    assert parse_bids_name("sub-01_ses-2_acq-T1w_dseg.nii.gz") == (entities, "dseg", ".nii.gz")
    assert parse_bids_name("notbids.nii.gz") == ({}, "notbids", ".nii.gz")
    anat = tmp_path / "sub-01" / "anat"
    anat.mkdir(parents=True)
    seg = anat / "sub-01_acq-a_dseg.nii.gz"
    seg.write_bytes(b"")
    (tmp_path / "dseg.tsv").write_text("index\tname\n1\tSoleus\n")
    assert inherited(seg, tmp_path, "dseg", ".tsv") == tmp_path / "dseg.tsv"
    (tmp_path / "sub-01" / "sub-01_dseg.tsv").write_text("index\tname\n1\tSoleus\n")
    assert inherited(seg, tmp_path, "dseg", ".tsv") == tmp_path / "sub-01" / "sub-01_dseg.tsv"  # nearer wins
    (anat / "sub-01_acq-b_dseg.tsv").write_text("index\tname\n1\tSoleus\n")  # another acquisition's: not this one
    assert inherited(seg, tmp_path, "dseg", ".tsv") == tmp_path / "sub-01" / "sub-01_dseg.tsv"
    (anat / "sub-01_acq-a_dseg.tsv").write_text("index\tname\n1\tSoleus\n")
    assert inherited(seg, tmp_path, "dseg", ".tsv") == anat / "sub-01_acq-a_dseg.tsv"


def test_real_cohort_discovery(data: Path) -> None:
    study = discover(_cohort(data))
    assert len(study.items) == 31
    assert len(study.subjects()) == 28
    per_subject = defaultdict(list)
    for item in study.items:
        per_subject[item.subject].append(item.acquisition)
        assert item.labels == str(_cohort(data) / "dseg.tsv")
        assert item.maps.empty
    assert {s for s, acqs in per_subject.items() if len(acqs) > 1} == set(REPEATS)
    assert sorted(per_subject["THIGH022"]) == ["T1w", "water"]
    banded = study.participants["THIGH112"]
    assert banded.age == ">60" and banded.age_years is None
    assert study.participants["THIGH022"].age_years == 35
    assert study.participants["THIGH022"].extra == {"dataset": "HuashanMyo"}


def test_manifest_errors_name_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "m.csv"
    bad.write_text("subject,file\nA,x.nii.gz\n")
    with pytest.raises(StudyError, match=r"m\.csv: the header must name the column\(s\) segmentation"):
        discover(bad)
    bad.write_text("subject,segmentation\nA,missing.nii.gz\n")
    with pytest.raises(StudyError, match=r"line 2, segmentation: no such file"):
        discover(bad)
    assert main(["study", str(bad), "-o", str(tmp_path / "out")]) == 2


# ---------------------------------------------------------------------------------------------
# A synthetic study: two legs, one label on one side only, a speck, Dixon and T2 maps


def _synthetic_study(root: Path) -> Path:
    """sub-01: labels 1 (both legs), 2 (right leg only, one component), 3 (both legs plus a speck)."""
    affine = np.diag([2.0, 2.0, 10.0, 1.0])
    affine[:3, 3] = [-40, -20, 0]  # x from −40 (index 0) to +38 mm
    data = np.zeros((40, 20, 6), np.uint8)
    data[2:12, 4:14, 1:5] = 1  # left leg (x < 0)
    data[28:38, 4:14, 1:5] = 1  # right leg
    data[30:36, 15:18, 2:4] = 2  # right only
    data[4:10, 0:4, 0:6] = 3
    data[30:36, 0:4, 0:6] = 3
    data[20, 0, 0] = 3  # a one-voxel speck (near the midline, counted with the side its x gives)
    anat = root / "sub-01" / "anat"
    anat.mkdir(parents=True)
    nib.save(nib.Nifti1Image(data, affine), anat / "sub-01_acq-x_dseg.nii.gz")
    water = np.full(data.shape, 90.0, np.float32)
    fat = np.where(data == 1, 10.0, 30.0).astype(np.float32)
    nib.save(nib.Nifti1Image(water, affine), anat / "sub-01_water.nii.gz")
    nib.save(nib.Nifti1Image(fat, affine), anat / "sub-01_fat.nii.gz")
    nib.save(nib.Nifti1Image(np.full(data.shape, 35.0, np.float32), affine), anat / "sub-01_acq-x_T2map.nii.gz")
    (root / "dseg.tsv").write_text("index\tname\n1\tSoleus\n2\tTibialis anterior\n3\tGastrocnemius medial head\n")
    (root / "participants.tsv").write_text(
        "participant_id\tgroup\tsex\tage\theight\tweight\nsub-01\tControl\tF\t30\t170\t65\n"
    )
    return root


def test_synthetic_subject_sides_maps_and_thumbnail(tmp_path: Path) -> None:
    from PIL import Image

    from muscle_atlas.study.task import TaskOptions, process, result_folder
    from muscle_atlas.study.voxels import PALETTE

    study = discover(_synthetic_study(tmp_path / "study"))
    (item,) = study.items
    assert item.id == "sub-01_acq-x"
    assert item.maps.dixon is not None and [s.name for s in item.maps.scalars] == ["T2"]
    assert study.participants["01"].height_m == pytest.approx(1.70)
    result = process(item, TaskOptions(), str(tmp_path / "cache"))
    assert result["ok"], result.get("error")
    by = {(s["path"], s["side"]): s for s in result["structures"]}
    assert by[("leg/soleus", "left")]["voxels"] == 10 * 10 * 4 == by[("leg/soleus", "right")]["voxels"]
    assert by[("leg/soleus", "left")]["volume_ml"] == pytest.approx(400 * 40 / 1000)
    assert by[("leg/soleus", "left")]["max_csa_cm2"] == pytest.approx(100 * 4 / 100)
    assert by[("leg/soleus", "left")]["slices"] == 4
    assert ("leg/tibialis-anterior", "left") not in by and by[("leg/tibialis-anterior", "right")]["voxels"] == 36
    head = [by[("leg/gastrocnemius-medial-head", side)] for side in ("left", "right")]
    assert [h["pieces"] for h in head] == [1, 1] and sum(h["specks"] for h in head) == 1
    log = "\n".join(result["log"])
    assert "Soleus (label 1): 2 pieces → left (400 voxels), right (400 voxels)" in log
    assert "Tibialis anterior (label 2): 1 piece → right (36 voxels)" in log
    maps = {q["map"] for q in result["quantities"]}
    assert maps == {"fat_fraction", "T2"}
    ff = next(q for q in result["quantities"] if q["map"] == "fat_fraction" and q["structure"] == "leg/soleus"
              and q["erosion_voxels"] == 0)  # fmt: skip
    assert ff["median"] == pytest.approx(10.0)
    from muscle_atlas.study.aggregate import aggregate

    data = aggregate(study, {item.id: result}, "Control")
    assert data.values[(item.id, "leg/soleus", "left", "volume_per_height_mass")] == pytest.approx(16 / (1.70 * 65))
    assert "fat_fraction:median:1" in [v.key for v in data.variables if v.group]
    assert data.findings == []  # the tibialis anterior is right-sided in the whole study: not missing
    picture = Image.open(result_folder(tmp_path / "cache", item, result["key"]) / "thumb.png")
    assert max(picture.size) == 240
    # Seen from the feet: the subject's right (the right leg, +x) is on the image's left.
    pixels = np.asarray(picture.convert("RGB"))
    right_only = np.nonzero((pixels == PALETTE[1]).all(axis=2))[1]  # label 2, the second colour
    assert right_only.size and right_only.max() < pixels.shape[1] / 2


def test_one_leg_is_sided_by_the_scanner_isocentre() -> None:
    from muscle_atlas.anatomy.match import MatchResult
    from muscle_atlas.study.voxels import split_sides

    affine = np.diag([1.0, 1.0, 5.0, 1.0])
    affine[0, 3] = 50.0  # the whole leg at x > 0
    data = np.zeros((20, 10, 3), np.int32)
    data[2:8, 2:8, :] = 1
    data[10:16, 2:8, :] = 2
    matches = [MatchResult(str(v), n, "matched", None, 1, f"leg/{n}", n) for v, n in ((1, "soleus"), (2, "tibialis"))]
    split = split_sides(data, affine, matches)
    assert not split.two_legs
    assert {m.side for m in split.matches} == {"right"}
    assert any("one leg only" in line for line in split.log)


# ---------------------------------------------------------------------------------------------
# The real cohort: the site, volumes and z-scores recomputed independently


@pytest.fixture(scope="module")
def cohort_site(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cohort") / "site"
    assert main(["study", str(_cohort(data)), "-o", str(out), "--jobs", "2", "--quiet"]) == 0
    return out


def _normal(name: str) -> str:
    return re.sub(r"[^a-z]+", " ", name.lower()).strip()


def _independent_volumes(path: Path, names: dict[int, str]) -> dict[tuple[str, str], tuple[float, int]]:
    """(muscle name, side) → (volume mL, voxels): components of each label (scipy.ndimage.label) go
    to the side of the mean x of all labelled voxels their own mean x lies on (RAS: +x = right)."""
    image = nib.load(path)
    data = np.asarray(image.dataobj)
    affine = image.affine
    midline = (np.argwhere(data > 0) @ affine[:3, :3].T + affine[:3, 3])[:, 0].mean()
    voxel_ml = abs(np.linalg.det(affine[:3, :3])) / 1000
    out: dict[tuple[str, str], int] = defaultdict(int)
    for value, box in enumerate(ndimage.find_objects(data), start=1):
        if box is None:
            continue
        components, count = ndimage.label(data[box] == value)
        for k in range(1, count + 1):
            index = np.argwhere(components == k) + [s.start for s in box]
            x = (index @ affine[:3, :3].T + affine[:3, 3])[:, 0].mean()
            out[(_normal(names[value]), "right" if x > midline else "left")] += len(index)
    return {key: (n * voxel_ml, n) for key, n in out.items()}


def test_volumes_and_z_scores_agree_with_an_independent_computation(cohort_site: Path, data: Path) -> None:
    cohort = _cohort(data)
    names = {int(r["index"]): r["name"] for r in csv.DictReader((cohort / "dseg.tsv").open(), delimiter="\t")}
    people = csv.DictReader((cohort / "participants.tsv").open(), delimiter="\t")
    groups = {r["participant_id"][4:]: r["group"] for r in people}
    rows = _read_csv(cohort_site / "data" / "study.csv")
    table = {(r["item"], _normal(r["muscle"]), r["side"]): r for r in rows if r["measure"] == "volume"}
    voxels = {(r["item"], _normal(r["muscle"]), r["side"]): int(r["value"]) for r in rows if r["measure"] == "voxels"}
    expected: dict[tuple[str, str, str], float] = {}
    for path in sorted(cohort.glob("sub-*/anat/*_dseg.nii.gz")):
        item = path.name.removesuffix("_dseg.nii.gz")
        for (muscle, side), (volume, count) in _independent_volumes(path, names).items():
            expected[(item, muscle, side)] = volume
            assert voxels[(item, muscle, side)] == count, (item, muscle, side)
    assert len(expected) == 31 * 11 * 2
    assert set(table) == set(expected)
    for key, volume in expected.items():
        assert float(table[key]["value"]) == pytest.approx(volume, rel=1e-5), key
    # z-scores: per side, against the Control subjects (the mean of a subject's acquisitions), SD with n − 1.
    per_subject: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for (item, muscle, side), volume in expected.items():
        per_subject[(item.split("_")[0][4:], muscle, side)].append(volume)
    for (item, muscle, side), volume in expected.items():
        reference = [
            np.mean(v) for (s, m, d), v in per_subject.items() if m == muscle and d == side and groups[s] == "Control"
        ]
        z = (volume - np.mean(reference)) / np.std(reference, ddof=1)
        assert float(table[(item, muscle, side)]["z"]) == pytest.approx(z, rel=1e-4, abs=1e-5), (item, muscle, side)


def test_tables_pages_and_repeat_acquisitions(cohort_site: Path) -> None:
    import pyarrow.parquet as pq

    rows = _read_csv(cohort_site / "data" / "study.csv")
    parquet = pq.read_table(cohort_site / "data" / "study.parquet")
    assert parquet.num_rows == len(rows) and parquet.column_names == list(rows[0])
    assert {r["group"] for r in rows} == {"Control", "LGMDR1", "LGMDR2", "IBM", "TMD"}
    assert len({r["item"] for r in rows}) == 31
    for subject in REPEATS:
        html = (cohort_site / "subject" / f"sub-{subject}" / "index.html").read_text()
        heading = re.search(r"Repeat acquisitions side by side: (\w+) and (\w+)", html)
        assert heading, subject
        first, second = heading.groups()
        assert f'<th scope="col">{second} − {first}</th>' in html
        assert html.count("Difference, % of mean") == 2  # volume and maximal cross-section
        assert html.count('class="study-thumb"') >= 4
    muscle = (cohort_site / "muscle" / "thigh" / "vastus-lateralis" / "index.html").read_text()
    assert "Hedges’ g vs Control" in muscle and "Mann–Whitney U" in muscle
    assert muscle.count('role="img"') >= 2 and "<desc id=" in muscle
    assert "Coverage: the vastus lateralis appears on" in muscle
    qc = (cohort_site / "qc" / "index.html").read_text()
    assert "Every segmentation was processed." in qc and 'class="study-qc-card"' in qc
    home = (cohort_site / "index.html").read_text()
    assert "28 subjects, 31 segmentations (3 subjects with repeat acquisitions)" in home
    assert "&gt;60 (2)" in home  # age bands stay text


def test_every_shipped_file_is_linked_from_a_page(cohort_site: Path) -> None:
    from muscle_atlas.web.publish import linked_files

    shipped = {p.resolve() for p in cohort_site.rglob("*") if p.is_file()}
    assert shipped - linked_files(cohort_site) == set()


# ---------------------------------------------------------------------------------------------
# Dask: a cluster of two worker processes shared by the next tests, through --scheduler


class _CountTasks:
    """A scheduler plugin: the study tasks that finished (went to memory), in order."""

    name = "muscle-atlas-test-count-tasks"

    def __init__(self) -> None:
        self.keys: list[str] = []

    def transition(self, key, start, finish, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if finish == "memory" and str(key).startswith("muscle-atlas-study-"):
            self.keys.append(str(key))


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster
    from distributed.diagnostics.plugin import SchedulerPlugin

    counter = type("CountTasks", (_CountTasks, SchedulerPlugin), {})
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        with Client(local) as client:
            local.scheduler.add_plugin(counter())  # the scheduler runs in this process
            yield local, client


def _tasks(client, since: int) -> list[str]:
    """The study tasks the scheduler saw finish since ``since`` (a count of :func:`_all_tasks`)."""
    return _all_tasks(client)[since:]


def _all_tasks(client) -> list[str]:
    return list(client.cluster.scheduler.plugins[_CountTasks.name].keys)


def test_adding_a_subject_reprocesses_exactly_one(cluster, data: Path, tmp_path: Path, capsys) -> None:
    local, client = cluster
    cohort = _cohort(data)
    entries = [("THIGH029", "T2w"), ("THIGH040", "T1w")]
    manifest = _manifest(tmp_path / "m.csv", cohort, entries)
    out = tmp_path / "site"
    args = ["study", str(manifest), "-o", str(out), "--scheduler", local.scheduler_address, "--quiet"]
    since = len(_all_tasks(client))
    assert main(args) == 0
    assert len(_tasks(client, since)) == 2
    _manifest(manifest, cohort, [*entries, ("THIGH057", "fat")])
    since = len(_all_tasks(client))
    assert main(args) == 0
    tasks = _tasks(client, since)
    assert len(tasks) == 1 and "sub-THIGH057_acq-fat" in tasks[0]
    assert {r["item"] for r in _read_csv(out / "data" / "study.csv")} == {"sub-THIGH029_acq-T2w", "sub-THIGH040_acq-T1w",
                                                                        "sub-THIGH057_acq-fat"}  # fmt: skip
    assert "tasks: 1 processed" in (out / "data" / "study-log.txt").read_text()
    capsys.readouterr()
    assert main(args) == 0  # nothing new: the pages are the previous build's (but those showing the log's size)
    rendered, kept = map(int, re.search(r"(\d+) pages rendered, (\d+) kept", capsys.readouterr().out).groups())
    assert rendered <= 2 and kept == len(list(out.rglob("index.html"))) - rendered


def test_a_corrupt_file_fails_alone_and_strict_exits_2(cluster, data: Path, tmp_path: Path, capsys) -> None:
    local, _client = cluster
    cohort = _cohort(data)
    broken = tmp_path / "sub-BROKEN_acq-T1w_dseg.nii.gz"
    broken.write_bytes((cohort / "sub-THIGH029" / "anat" / "sub-THIGH029_acq-T2w_dseg.nii.gz").read_bytes()[:4000])
    extra = f"BROKEN,,T1w,{broken},{cohort / 'dseg.tsv'}\n"
    manifest = _manifest(tmp_path / "m.csv", cohort, [("THIGH029", "T2w"), ("THIGH040", "T1w")], extra)
    out = tmp_path / "site"
    args = ["study", str(manifest), "-o", str(out), "--scheduler", local.scheduler_address, "--quiet"]
    assert main(args) == 0
    assert "sub-BROKEN_acq-T1w" in capsys.readouterr().err
    assert {r["item"] for r in _read_csv(out / "data" / "study.csv")} == {"sub-THIGH029_acq-T2w", "sub-THIGH040_acq-T1w"}
    qc = (out / "qc" / "index.html").read_text()
    assert "sub-BROKEN, acquisition T1w" in qc and "truncated or corrupt file" in qc
    assert "failed: sub-BROKEN_acq-T1w" in (out / "data" / "study-log.txt").read_text()
    assert "Not processed" in (out / "subject" / "sub-BROKEN" / "index.html").read_text()
    assert main([*args, "--strict"]) == 2
    assert "1 segmentation(s) failed (--strict)" in capsys.readouterr().err


def test_a_worker_killed_mid_run_loses_nothing(cluster, data: Path, tmp_path: Path) -> None:
    local, client = cluster
    cohort = _cohort(data)
    entries = [("THIGH003", "T1w"), ("THIGH014", "water"), ("THIGH018", "T1w"), ("THIGH024", "water"),
               ("THIGH025", "water"), ("THIGH029", "T2w"), ("THIGH040", "T1w"), ("THIGH045", "water")]  # fmt: skip
    manifest = _manifest(tmp_path / "m.csv", cohort, entries)
    out = tmp_path / "site"
    client.wait_for_workers(2)
    pids = client.run(os.getpid)
    killed: dict[str, object] = {}

    def kill_a_busy_worker() -> None:
        deadline = time.time() + 60
        while time.time() < deadline:
            for address, keys in client.processing().items():
                ours = [k for k in keys if str(k).startswith("muscle-atlas-study-")]
                if ours and address in pids:
                    time.sleep(0.05)  # let the task start its work
                    os.kill(pids[address], signal.SIGKILL)
                    killed.update(pid=pids[address], keys=ours)
                    return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    code = main(["study", str(manifest), "-o", str(out), "--scheduler", local.scheduler_address, "--quiet"])
    killer.join()
    assert code == 0
    assert killed, "no worker was killed"
    rows = _read_csv(out / "data" / "study.csv")
    assert {r["item"] for r in rows} == {f"sub-{s}_acq-{a}" for s, a in entries}
    assert "0 failed" in (out / "data" / "study-log.txt").read_text()
    # The task the dead worker held ran again elsewhere.
    import json

    for key in killed["keys"]:  # type: ignore[union-attr]
        item = re.match(r"muscle-atlas-study-(.+)-[0-9a-f]{16}$", key).group(1)  # type: ignore[union-attr]
        result = next((out.parent / f".{out.name}.muscle-atlas-cache" / "study" / "subjects" / item).glob("*/result.json"))
        assert json.loads(result.read_text())["worker_pid"] != killed["pid"]
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it


def test_a_large_study_goes_in_batches_in_order_the_last_ones_alone() -> None:
    from muscle_atlas.study.runner import BATCH, batches

    todo = [f"item{i:04d}" for i in range(1000)]
    groups = batches(todo, 2)  # type: ignore[arg-type]
    assert [i for g in groups for i in g] == todo
    assert {len(g) for g in groups[:-32]} == {BATCH} and all(len(g) == 1 for g in groups[-32:])
    assert len(groups) == (1000 - 32) // BATCH + 32
    assert all(len(g) == 1 for g in batches(todo[:40], 2))  # type: ignore[arg-type]  # small: one per task
    groups = batches(todo[:100], 2)  # type: ignore[arg-type]
    assert [len(g) for g in groups] == [3] * 29 + [1] * 13  # 16 tasks a worker at least


def _comparable(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in ("seconds", "cpu_seconds", "worker_pid")}


def test_a_batch_gives_what_one_task_per_segmentation_gives(cluster, data: Path, tmp_path: Path, monkeypatch) -> None:
    """Every segmentation of the study in one task, a corrupt file among them: the same results as
    one task each, the corrupt one failed alone."""
    from muscle_atlas.study import runner
    from muscle_atlas.study.task import TaskOptions

    local, client = cluster
    cohort = _cohort(data)
    broken = tmp_path / "sub-BROKEN_acq-T1w_dseg.nii.gz"
    broken.write_bytes((cohort / "sub-THIGH029" / "anat" / "sub-THIGH029_acq-T2w_dseg.nii.gz").read_bytes()[:4000])
    extra = f"BROKEN,,T1w,{broken},{cohort / 'dseg.tsv'}\n"
    entries = [("THIGH003", "T1w"), ("THIGH029", "T2w"), ("THIGH040", "T1w")]
    study = discover(str(_manifest(tmp_path / "m.csv", cohort, entries, extra)))
    options = {item.id: TaskOptions() for item in study.items}
    alone = runner.run_items(study.items, options, tmp_path / "alone", scheduler=local.scheduler_address, progress=False)
    since = len(_all_tasks(client))
    monkeypatch.setattr(runner, "batches", lambda todo, workers: [todo])
    batched = runner.run_items(study.items, options, tmp_path / "batch", scheduler=local.scheduler_address,
                               progress=False)  # fmt: skip
    tasks = _tasks(client, since)
    assert len(tasks) == 1 and tasks[0].startswith(f"muscle-atlas-study-{study.items[0].id}+3-")
    assert batched.failed == alone.failed == ["sub-BROKEN_acq-T1w"] and len(batched.processed) == 4
    assert [_comparable(r) for r in batched.results.values()] == [_comparable(r) for r in alone.results.values()]


def test_a_batch_whose_segmentation_raises_keeps_the_others(data: Path, tmp_path: Path, monkeypatch) -> None:
    """A segmentation that raises (not a user error) does not stop the others of its batch; the
    batch then raises (the cluster retries it), and once it gives up, the done ones are read from
    the cache and only the other one fails."""
    from muscle_atlas.study import runner, task

    cohort = _cohort(data)
    study = discover(str(_manifest(tmp_path / "m.csv", cohort, [("THIGH003", "T1w"), ("THIGH040", "T1w")])))
    first, second = study.items
    options = [task.TaskOptions()] * 2
    keys = [task.cache_key(item, task.TaskOptions()) for item in study.items]
    real = task.process

    def process(item, *args):  # type: ignore[no-untyped-def]
        if item is first:
            raise MemoryError("out of memory")
        return real(item, *args)

    monkeypatch.setattr(task, "process", process)
    with pytest.raises(MemoryError):
        task.process_batch(study.items, options, str(tmp_path), keys)
    assert task.cached_result(tmp_path, second, keys[1]) is not None  # done despite the first
    assert task.cached_result(tmp_path, first, keys[0]) is None
    assert runner._result(second, None, keys[1], tmp_path, "MemoryError: out of memory")["ok"]
    failed = runner._result(first, None, keys[0], tmp_path, "MemoryError: out of memory")
    assert not failed["ok"] and failed["error"] == "MemoryError: out of memory"


def test_study_table_in_atlas_toml(tmp_path: Path, data: Path) -> None:
    import argparse

    from muscle_atlas.config import study_request as request_from

    cohort = _cohort(data)
    toml = tmp_path / "atlas.toml"
    toml.write_text(f'[study]\nfolder = "{cohort}"\nreference_group = "LGMDR2"\nrenders = "reference"\njobs = 3\n'
                    'strict = true\n[output]\nfolder = "out"\n')  # fmt: skip
    from muscle_atlas.cli import build_parser

    args = build_parser().parse_args(["study", "--config", str(toml), "--jobs", "1"])
    request = request_from(args)
    assert (request.source, request.reference_group, request.renders, request.jobs, request.strict) == (
        str(cohort), "LGMDR2", "reference", 1, True)  # fmt: skip
    assert request.output == str(tmp_path / "out")
    toml.write_text('[study]\nrenders = "some"\njobs = -1\n')
    with pytest.raises(StudyError, match=r"study\.renders: must be none, reference or all.*study\.jobs: must be 0"):
        request_from(argparse.Namespace(**{**vars(args), "config": str(toml)}))
    toml.write_text("[study]\nwho = 1\n")
    assert main(["study", "--config", str(toml)]) == 2


# ---------------------------------------------------------------------------------------------
# At population scale: a fabricated study of 10,000 subjects (conftest.population_site)

FIRST_LOAD_LIMIT = 1_000_000  # bytes a muscle page loads on its first view


def first_load(page: Path) -> tuple[int, list[Path]]:
    """The bytes a page loads on its first view, counted from its HTML: itself, its style sheets,
    scripts and icon, and the images and media not loaded lazily (``loading="lazy"``, or behind a
    link)."""
    from html.parser import HTMLParser

    loaded: list[Path] = [page]

    class Loads(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            url = None
            if tag == "link" and a.get("rel") in ("stylesheet", "icon", "preload", "modulepreload"):
                url = a.get("href")
            elif tag in ("script", "img", "source", "video", "audio", "iframe", "embed") and a.get("loading") != "lazy":
                url = a.get("src") or a.get("poster")
            elif tag == "object":
                url = a.get("data")
            if url and not url.startswith(("data:", "http:", "https:")):
                loaded.append((page.parent / url.split("#")[0].split("?")[0]).resolve())

    Loads().feed(page.read_text(encoding="utf-8"))
    return sum(p.stat().st_size for p in loaded), loaded


def test_a_muscle_page_at_10000_subjects_loads_under_1_mb(population_site: Path) -> None:
    pages = sorted((population_site / "muscle").glob("*/*/index.html"), key=lambda p: p.stat().st_size)
    assert len(pages) == 20
    largest = pages[-1]
    weight, loaded = first_load(largest)
    assert weight <= FIRST_LOAD_LIMIT, (largest, weight)
    assert {p.name for p in loaded} == {"index.html", "site.css", "site.js", "favicon.svg"}
    html = largest.read_text(encoding="utf-8")
    # Large groups are densities (the values beyond the whiskers as points); the small one, points.
    assert html.count('class="density"') == 3 * 4  # 3 plots × the 4 groups of over 200 subjects
    assert "TMD: median" in html and "drawn as a density" in html
    assert html.count('class="point"') < 3 * (4 * 60 + 200)
    # Every subject's values are one link away, in the muscle's CSV.
    csv_link = re.search(r'href="([^"]+\.csv)">this muscle’s table', html).group(1)
    rows = _read_csv((largest.parent / csv_link).resolve())
    assert 9_990 < len(rows) <= 10_000 and set(rows[0]) >= {"subject", "group", "volume (mL)", "max_csa (cm²)"}


def test_the_subject_index_and_qc_pages_stay_small_at_10000_subjects(population_site: Path) -> None:
    import json

    index = population_site / "subject" / "index.html"
    html = index.read_text(encoding="utf-8")
    assert first_load(index)[0] < 200_000
    assert html.count("<tr>") == 1 + 50  # the header and the first page
    assert "1–50 of 10,000 subjects." in html and 'href="../data/subjects.csv"' in html
    assert len(list(population_site.glob("subject/page-*/index.html"))) == 199  # linked from page to page
    listing = json.loads((population_site / "data" / "subjects.json").read_text(encoding="utf-8"))
    assert len(listing["rows"]) == 10_000 and listing["columns"][:4] == ["Subject", "Group", "Sex", "Age"]
    assert "Site" in listing["columns"]
    qc = sorted(population_site.glob("qc/**/index.html"))
    assert len(qc) > 5
    severities = []
    for page in qc:
        text = page.read_text(encoding="utf-8")
        assert first_load(page)[0] < 300_000
        assert text.count('class="study-qc-card"') <= 25
        assert text.count("<img ") == text.count('loading="lazy"') == text.count('class="study-qc-card"')
        severities += re.findall(r'data-level="(\w+)"', text)
    order = {"high": 0, "medium": 1, "low": 2}
    pages_in_order = sorted(qc, key=lambda p: int(p.parent.name.split("-")[1]) if p.parent.name != "qc" else 1)
    by_page = [re.findall(r'data-level="(\w+)"', p.read_text(encoding="utf-8")) for p in pages_in_order]
    ranks = [order[s] for levels in by_page for s in levels]
    assert ranks == sorted(ranks) and set(ranks) == {0, 1, 2}  # the most severe first, every severity present
    home = (population_site / "index.html").read_text(encoding="utf-8")
    assert first_load(population_site / "index.html")[0] < 200_000
    assert "10,000 subjects" in home and "Subjects per site" in home and "Subjects per group and site" in home


def test_every_file_of_the_10000_subject_site_is_linked_from_a_page(population_site: Path) -> None:
    from muscle_atlas.web.publish import linked_files

    shipped = {p.resolve() for p in population_site.rglob("*") if p.is_file()}
    assert shipped - linked_files(population_site) == set()
