"""A synthetic study of N subjects made from the real thigh cohort, for benchmarks (no data shipped).

Each subject gets one segmentation: a real file of the cohort (cycling over them, so the mix of
grids stays the real one) with its affine shifted by a random rigid translation, now and then one
muscle removed (both legs), and its subject id in the header's description, so that every file is
unique (different bytes, a different content hash). Groups, sexes, ages and sites are drawn at
random (a third of the subjects are controls, the reference group). The folder is BIDS-style::

    OUT/participants.tsv  OUT/dseg.tsv  OUT/sub-SYN00001/anat/sub-SYN00001_acq-T1w_dseg.nii.gz …

Fast: a file is a gzip member holding its header followed by a member holding the voxels, which is
compressed once per real file and removed muscle (a gzip file may hold several members; every
reader concatenates them). 10,000 subjects take well under a minute. Usage::

    python bench/synthetic_cohort.py OUT -n 1000 [--source ../shared/data/thigh-cohort] [--seed 21]
    python bench/synthetic_cohort.py OUT -n 10 --add      # ten more subjects
    python bench/synthetic_cohort.py OUT -n 10 --add --group LGMDR2   # ten more, all of one group
"""

from __future__ import annotations

import argparse
import gzip
import io
import shutil
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "thigh-cohort"
GROUPS = (("Control", 0.34), ("LGMDR1", 0.16), ("LGMDR2", 0.3), ("IBM", 0.12), ("TMD", 0.08))
SITES = ("HuashanMyo", "Folkhälsan", "MyoSegmenTUM")
MISSING_SHARE = 0.05  # subjects with one muscle missing
SHIFT_MM = 30.0  # largest translation along each axis
WIDTH = 5  # digits of the subject numbers: SYN00001
LEVEL = 1  # gzip level of the voxels (compressed once per real file and removed muscle)


class Template:
    """One real segmentation: its header, its raw voxel bytes, and their compressed variants."""

    def __init__(self, path: Path) -> None:
        self.path = path
        image = nib.load(path)
        self.header = image.header.copy()
        self.affine = image.affine.copy()
        raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        self.offset = int(image.dataobj.offset)  # the loaded header's vox_offset is reset to 0
        self.header["vox_offset"] = self.offset
        self.voxels = np.frombuffer(raw[self.offset :], dtype=self.header.get_data_dtype()).copy()
        self.labels = [int(v) for v in np.unique(self.voxels) if v > 0]
        self.entities = path.name.split("_")
        self._members: dict[int, bytes] = {}

    @property
    def acquisition(self) -> str:
        return next((e[4:] for e in self.entities if e.startswith("acq-")), "")

    def voxel_member(self, missing: int) -> bytes:
        """The voxels without label ``missing`` (0: all of them), as one gzip member."""
        if missing not in self._members:
            voxels = self.voxels if not missing else np.where(self.voxels == missing, 0, self.voxels)
            self._members[missing] = gzip.compress(voxels.astype(self.voxels.dtype).tobytes(), LEVEL, mtime=0)
        return self._members[missing]

    def header_member(self, shift: np.ndarray, description: str) -> bytes:
        header = self.header.copy()
        affine = self.affine.copy()
        affine[:3, 3] += shift
        header.set_sform(affine, int(self.header["sform_code"]) or 1)
        header.set_qform(affine, int(self.header["qform_code"]) or 1)
        header["descrip"] = description.encode()[:79]
        stream = io.BytesIO()
        header.write_to(stream)
        block = stream.getvalue()
        block += b"\0" * (self.offset - len(block))  # the extension flag and padding up to the voxels
        return gzip.compress(block[: self.offset], 6, mtime=0)


def participants_rows(rng: np.random.Generator, ids: list[str], group: str | None = None) -> list[str]:
    """The rows of participants.tsv: groups drawn at random (or all ``group``), sites, sexes, ages."""
    names, weights = zip(*GROUPS, strict=True)
    rows = ["participant_id\tdataset\tgroup\tsex\tage"]
    for subject in ids:
        drawn = str(rng.choice(names, p=np.array(weights) / sum(weights)))
        group_of = group or drawn
        rows.append(f"sub-{subject}\t{rng.choice(SITES)}\t{group_of}\t{rng.choice(['F', 'M'])}\t{int(rng.integers(18, 80))}")
    return rows


def generate(
    source: Path, out: Path, n: int, seed: int = 21, missing_share: float = MISSING_SHARE, subjects: str = "sub-*",
    start: int = 1, group: str | None = None,
) -> list[Path]:  # fmt: skip
    """Write a study of ``n`` subjects into ``out`` (created; it must not exist or be empty), made
    from the segmentations of the real subjects whose folders match ``subjects``. With ``start``
    above 1, add subjects ``start`` … ``start + n − 1`` to a study made before (their rows are
    appended to participants.tsv; the others stay as they are). With ``group``, every subject
    written is of that group (else groups are drawn at random)."""
    files = sorted(source.glob(f"{subjects}/anat/*_dseg.nii.gz")) + sorted(
        source.glob(f"{subjects}/ses-*/anat/*_dseg.nii.gz")
    )
    if not files:
        raise SystemExit(f"{source}: no {subjects}/anat/*_dseg.nii.gz")
    templates = [Template(f) for f in files]
    rng = np.random.default_rng([seed, start])
    out.mkdir(parents=True, exist_ok=True)
    if start == 1 and any(out.iterdir()):
        raise SystemExit(f"{out}: not empty")
    if start == 1:
        shutil.copy(source / "dseg.tsv", out / "dseg.tsv")
    ids = [f"SYN{i:0{WIDTH}d}" for i in range(start, start + n)]
    written = []
    for index, subject in enumerate(ids, start=start - 1):
        template = templates[index % len(templates)]
        missing = int(rng.choice(template.labels)) if rng.random() < missing_share else 0
        shift = rng.uniform(-SHIFT_MM, SHIFT_MM, 3)
        anat = out / f"sub-{subject}" / "anat"
        anat.mkdir(parents=True)
        acq = f"_acq-{template.acquisition}" if template.acquisition else ""
        path = anat / f"sub-{subject}{acq}_dseg.nii.gz"
        description = f"synthetic {subject} from {template.path.name}" + (f" without {missing}" if missing else "")
        path.write_bytes(template.header_member(shift, description) + template.voxel_member(missing))
        written.append(path)
    rows = participants_rows(rng, ids, group)
    if start == 1:
        (out / "participants.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        (out / "README.md").write_text(
            f"Synthetic study made by bench/synthetic_cohort.py (seed {seed}) from {source}: random shifts of the "
            "affine, a muscle missing now and then, random demographics. Benchmarks only.\n",
            encoding="utf-8",
        )
    else:
        with (out / "participants.tsv").open("a", encoding="utf-8") as handle:
            handle.write("\n".join(rows[1:]) + "\n")
    return written


def count(out: Path) -> int:
    """Subjects of a synthetic study (rows of its participants.tsv)."""
    return len((out / "participants.tsv").read_text(encoding="utf-8").splitlines()) - 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the study folder to write (must not exist or be empty)")
    parser.add_argument("-n", "--subjects", type=int, default=1000)
    parser.add_argument("--source", default=str(DEFAULT_SOURCE), help="the real thigh cohort")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--missing", type=float, default=MISSING_SHARE, help="share of subjects missing a muscle")
    parser.add_argument("--like", default="sub-*", help="only the real subjects whose folders match (a glob)")
    parser.add_argument("--add", action="store_true", help="add the subjects to a synthetic study made before")
    parser.add_argument("--group", help="every subject written is of this group (default: drawn at random)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    start = count(Path(args.out)) + 1 if args.add else 1
    written = generate(
        Path(args.source), Path(args.out), args.subjects, args.seed, args.missing, args.like, start, args.group
    )
    size = sum(p.stat().st_size for p in written)
    print(f"{len(written)} segmentations, {size / 1e6:.0f} MB, in {time.perf_counter() - started:.1f} s → {args.out}",
          file=sys.stderr)  # fmt: skip


if __name__ == "__main__":
    main()
