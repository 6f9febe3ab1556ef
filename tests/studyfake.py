"""A study at population scale without segmenting anything: per-segmentation results shaped like
:func:`muscle_atlas.study.task.process`'s for a thigh item (two legs, one dict per structure and
side, Dixon fat fraction raw and eroded, a mid-thigh thumbnail in the cache), with random values,
aggregated by the real :func:`~muscle_atlas.study.aggregate.aggregate` and written by the real
:class:`~muscle_atlas.study.site.StudySiteWriter`.

Values are log-normal around a per-muscle typical volume, smaller and fattier in the disease
groups; a few segmentations miss a muscle, split one in pieces, swap a label's side (a left/right
ratio finding) or failed, so that every kind of quality-control finding appears.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from muscle_atlas.study.model import Item, Participant, Study, item_id
from muscle_atlas.study.task import result_folder

# 20 muscles of the thigh and hip: (path, name, code, typical volume in mL, typical max. CSA in cm²)
MUSCLES = [
    ("thigh/sartorius", "Sartorius", 22353, 110, 5), ("thigh/rectus-femoris", "Rectus femoris", 22430, 230, 12),
    ("thigh/vastus-lateralis", "Vastus lateralis", 22431, 560, 30),
    ("thigh/vastus-intermedius", "Vastus intermedius", 22433, 420, 22),
    ("thigh/vastus-medialis", "Vastus medialis", 22432, 380, 20), ("thigh/gracilis", "Gracilis", 22440, 90, 4),
    ("thigh/adductor-magnus", "Adductor magnus", 22443, 520, 28),
    ("thigh/adductor-longus", "Adductor longus", 22441, 140, 10),
    ("thigh/adductor-brevis", "Adductor brevis", 22442, 90, 7),
    ("thigh/biceps-femoris-long-head", "Biceps femoris long head", 22356, 170, 11),
    ("thigh/biceps-femoris-short-head", "Biceps femoris short head", 22357, 80, 6),
    ("thigh/semitendinosus", "Semitendinosus", 22358, 160, 9),
    ("thigh/semimembranosus", "Semimembranosus", 22359, 200, 12), ("thigh/pectineus", "Pectineus", 22444, 60, 6),
    ("hip/gluteus-maximus", "Gluteus maximus", 22314, 750, 45), ("hip/gluteus-medius", "Gluteus medius", 22315, 360, 25),
    ("hip/gluteus-minimus", "Gluteus minimus", 22317, 110, 10), ("hip/iliopsoas", "Iliopsoas", 22310, 300, 18),
    ("hip/tensor-fasciae-latae", "Tensor fasciae latae", 22423, 70, 6),
    ("hip/obturator-externus", "Obturator externus", 22337, 40, 5),
]  # fmt: skip
# group → (share of subjects, volume factor, fat fraction %); one group small enough for points
GROUPS = {"Control": (0.40, 1.0, 6), "LGMDR1": (0.25, 0.8, 18), "LGMDR2": (0.20, 0.75, 22), "IBM": (0.135, 0.85, 15),
          "TMD": (0.015, 0.9, 10)}  # fmt: skip
SITES = ("Helsinki", "Munich", "Shanghai", "Newcastle", "Leiden", "Paris")
SLICE_MM = (24.0, 10.0, 5.0)


def _thumbnail(path: Path) -> None:
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (240, 103), (0, 0, 0))
    draw = ImageDraw.Draw(picture)
    for i, (x, y) in enumerate([(40, 30), (80, 20), (150, 25), (190, 35)]):
        draw.ellipse((x, y, x + 34, y + 40), fill=((i * 70) % 255, 160, 255 - i * 50))
    picture.save(path, optimize=True)


def fake_results(n_subjects: int, cache: Path, seed: int = 21, maps: bool = True,
                 failures: int = 3) -> tuple[Study, dict[str, dict]]:  # fmt: skip
    """A study of ``n_subjects`` (5 % with a second acquisition) and its task results, thumbnails in
    ``cache`` (hard links to one picture)."""
    rng = np.random.default_rng(seed)
    names = list(GROUPS)
    shares = np.array([GROUPS[g][0] for g in names])
    group_of = rng.choice(len(names), n_subjects, p=shares / shares.sum())
    participants: dict[str, Participant] = {}
    items: list[Item] = []
    thumb = cache / "thumb.png"
    cache.mkdir(parents=True, exist_ok=True)
    _thumbnail(thumb)
    results: dict[str, dict] = {}
    for index in range(n_subjects):
        subject = f"P{index:05d}"
        group = names[group_of[index]]
        sex = "F" if rng.random() < 0.45 else "M"
        age = str(int(rng.integers(16, 80))) if rng.random() > 0.03 else ">80"
        height = float(rng.normal(1.65 if sex == "F" else 1.78, 0.07))
        weight = float(rng.normal(65 if sex == "F" else 80, 11))
        site = SITES[int(rng.integers(0, len(SITES)))]
        participants[subject] = Participant(subject, group, sex, age, round(height, 2), round(weight, 1), {"site": site})
        size = (0.82 if sex == "F" else 1.0) * GROUPS[group][1] * height / 1.75 * rng.lognormal(0, 0.12)
        acquisitions = ["T1w", "water"] if rng.random() < 0.05 else ["T1w"]
        for acquisition in acquisitions:
            item = Item(item_id(subject, "", acquisition), subject, "", acquisition,
                        f"/data/{subject}/anat/sub-{subject}_acq-{acquisition}_dseg.nii.gz", "/data/dseg.tsv",
                        origin=f"sub-{subject}/anat/")  # fmt: skip
            items.append(item)
            results[item.id] = _result(item, rng, size, GROUPS[group][2], maps, thumb, cache)
    for item in items[7 : 7 + 97 * failures : 97]:  # a few failures, spread out
        results[item.id] = {"id": item.id, "key": "0" * 64, "ok": False, "item": item.to_dict(),
                            "error": f"{Path(item.segmentation).name}: truncated or corrupt file"}  # fmt: skip
    study = Study("/data", "/data", items, participants, notes=[])
    return study, results


def _result(item: Item, rng: np.random.Generator, size: float, fat: float, maps: bool, thumb: Path, cache: Path) -> dict:
    slice_mm = SLICE_MM[int(rng.integers(0, len(SLICE_MM)))]
    slices_total = round(380 / slice_mm)
    voxel = (0.82, 0.82, slice_mm)
    voxel_ml = voxel[0] * voxel[1] * voxel[2] / 1000
    fault = rng.random()
    structures, quantities = [], []
    for m, (path, name, code, volume, csa) in enumerate(MUSCLES):
        for side in ("left", "right"):
            v = volume * size * rng.lognormal(0, 0.05)
            if fault < 0.004 and m == 3 and side == "right":  # a side swapped into the other leg
                v *= 0.3
            if fault > 0.998:  # a gross error: the whole segmentation scaled
                v *= 3
            voxels = int(v / voxel_ml)
            missing = fault > 0.99 and m == 5 and side == "left"
            pieces = 2 if 0.985 < fault < 0.99 and m == 1 else 1
            structures.append({
                "path": path, "name": name, "code": code, "side": side, "labels": [2 * m + (side == "right") + 1],
                "voxels": 0 if missing else voxels, "volume_ml": 0.0 if missing else voxels * voxel_ml,
                "max_csa_cm2": 0.0 if missing else csa * size * float(rng.lognormal(0, 0.06)),
                "max_csa_slice": 8, "slices": 0 if missing else int(min(slices_total, 200 / slice_mm)),
                "pieces": 0 if missing else pieces, "specks": int(rng.random() < 0.05), "speck_voxels": 0, "cut": "",
            })  # fmt: skip
            if maps and not missing:
                for erosion in (0, 1):
                    ff = float(np.clip(rng.normal(fat, fat * 0.35), 0.5, 95))
                    quantities.append({
                        "structure": path, "side": side, "map": "fat_fraction", "unit": "%", "erosion_voxels": erosion,
                        "n_voxels": voxels, "coverage": 1.0, "mean": ff + 0.4, "median": ff, "sd": 4.2, "p25": ff - 2.5,
                        "p75": ff + 2.9,
                    })  # fmt: skip
    key = f"{rng.integers(0, 2**63):016x}" * 4
    folder = result_folder(cache, item, key)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "thumb.png").exists():
        os.link(thumb, folder / "thumb.png")
    return {
        "id": item.id, "item": item.to_dict(), "log": [f"segmentation: {Path(item.segmentation).name}; labels: dseg.tsv",
                                                       "units: mm", f"{len(MUSCLES)} labels, 2 legs"],
        "grid": {"shape": [512, 512, slices_total], "voxel_mm": list(voxel), "slice_axis": 2, "slice_mm": slice_mm,
                 "slices_total": slices_total, "voxel_mm3": voxel_ml * 1000, "in_plane_mm2": 0.6724, "midline_x_mm": 1.0,
                 "two_legs": True},
        "thumb": "thumb.png",
        "thumb_info": {"slice": slices_total // 2, "slices": slices_total, "width": 240, "height": 103},
        "structures": structures, "colours": {p: i for i, (p, *_rest) in enumerate(MUSCLES)}, "quantities": quantities,
        "maps": [{"name": "fat_fraction", "unit": "%", "kind": "dixon", "files": ["water.nii.gz", "fat.nii.gz"]}] if maps
        else [], "rendered": False, "version": "0.1.0", "key": key, "ok": True, "seconds": 0.6, "worker_pid": 1,
    }  # fmt: skip


def fake_study(n_subjects: int, cache: Path, reference: str = "Control", **kwargs):
    """The aggregated :class:`~muscle_atlas.study.aggregate.StudyData` of :func:`fake_results`."""
    from muscle_atlas.study.aggregate import aggregate

    study, results = fake_results(n_subjects, cache, **kwargs)
    return aggregate(study, results, reference)


def write_fake_site(data, cache: Path, out: Path, title: str = "Population study") -> list[str]:
    """The study site of ``data``, written by the real writer into ``out`` (as ``run_study`` does)."""
    from muscle_atlas.site.provenance import Provenance
    from muscle_atlas.study.site import StudyOptions, StudySiteWriter

    options = StudyOptions(title=title, log=[f"study: fabricated, {len(data.results)} segmentations"])
    out.mkdir(parents=True, exist_ok=True)
    return StudySiteWriter(data, options, Provenance("fabricated test data"), cache).write(out)
