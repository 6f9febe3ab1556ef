"""The structure tree, its facts, and the matching of real labs' label names."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from muscle_atlas.anatomy.mapping import read_mapping
from muscle_atlas.anatomy.match import default_matcher, match_labels
from muscle_atlas.anatomy.names import parse_name
from muscle_atlas.anatomy.tree import FACT_FIELDS, build_tree, load_tree, parent_code
from muscle_atlas.cli import main
from muscle_atlas.errors import AnatomyError

EXPECTED = Path(__file__).parent / "data" / "expected_matches.tsv"


def test_parent_codes_follow_the_digits() -> None:
    assert parent_code(211120) == 211100
    assert parent_code(211100) == 211000
    assert parent_code(211000) == 210000
    assert parent_code(210000) == 200000
    assert parent_code(200000) is None


def test_tree_has_every_both_row_of_the_reference(data: Path) -> None:
    reference = data.parent / "reference" / "muscle-codes.tsv"
    with reference.open() as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t") if r["side"] == "Both"]
    tree = load_tree()
    assert len(rows) == 217
    # Ours beyond the table: the back's minor deep intrinsic muscles and the two sets of the deep
    # intrinsic group (the reference atlas has pages for them; the table has no codes).
    assert {s.code for s in tree} - {int(r["code"]) for r in rows} == {335400, 335500, 335600, 335800, 335900}
    for row in rows:
        structure = tree.by_code[int(row["code"])]
        expected_kind = (
            "head" if row["head"] else "muscle" if row["muscle"] else "group" if row["group"]
            else "region" if row["part"] else "limb"
        )  # fmt: skip
        assert structure.kind == expected_kind, row["code"]


def test_kind_counts_and_shared_facts() -> None:
    tree = load_tree()
    counts = {k: sum(1 for s in tree if s.kind == k) for k in ("limb", "region", "group", "muscle", "head")}
    assert counts == {"limb": 3, "region": 10, "group": 37, "muscle": 124, "head": 48}
    # One set of facts, two places in the tree.
    assert tree.by_code[331100].facts is tree.by_code[131100].facts
    assert tree.by_code[342200].facts is tree.by_code[223120].facts
    assert tree.by_code[331100].path == "back/trapezius"
    assert tree.by_code[131100].path == "shoulder/trapezius"


def test_every_muscle_and_head_has_every_fact() -> None:
    for structure in load_tree():
        if structure.kind in ("muscle", "head"):
            facts = structure.facts
            assert facts is not None, structure.code
            for name in FACT_FIELDS:
                if name not in ("synonyms", "abbreviations", "fma_id"):
                    assert getattr(facts, name), (structure.code, name)
            # An FMA id is given, or left out on purpose (never guessed): only for our own codes.
            assert (facts.fma_id is None and structure.code in (335400, 335500, 335600)) or (
                1000 <= facts.fma_id <= 400000
            ), structure.code
            assert any(ch.isdigit() for ch in facts.innervation) or "CN" in facts.innervation, structure.code
            sentences = facts.description.count(". ") + 1
            assert 2 <= sentences <= 6, (structure.code, sentences)
        else:
            assert structure.description, structure.code


def test_head_innervation_agrees_with_its_muscle_unless_it_differs() -> None:
    tree = load_tree()
    soleus_like = [s for s in tree if s.kind == "head" and s.parent.kind == "muscle"]
    for head in soleus_like:
        nerve = head.facts.innervation.split("(")[0].strip().lower()
        assert nerve.split()[0] in head.parent.facts.innervation.lower(), head.code


_FACTS = (
    "latin: L, synonyms: [], abbreviations: [], origin: o, insertion: i, action: a, innervation: n (C5),"
    " arterial_supply: s, fma_id: 1234, description: D"
)
_SET_TREE = (
    "- {code: 100000, kind: limb, slug: x, name: X, description: d}\n"
    "- {code: 110000, kind: region, slug: r, name: R, description: d}\n"
    "- {code: 111000, kind: group, slug: g, name: G, description: d}\n"
    "- {code: 112000, kind: group, slug: h, name: H, description: d}\n"
    f"- {{code: 111100, kind: muscle, slug: m1, name: M1, {_FACTS}}}\n"
    f"- {{code: 111200, kind: muscle, slug: m2, name: M2, {_FACTS}}}\n"
    f"- {{code: 112100, kind: muscle, slug: m3, name: M3, {_FACTS}}}\n"
)


def test_a_set_gathers_its_members_one_level_down_without_changing_their_codes() -> None:
    tree = build_tree([("a.yaml", _SET_TREE + "- {code: 111900, kind: group, slug: s, name: S, description: d,"
                                              " members: [111200, 111100]}")])  # fmt: skip
    group, the_set = tree.by_code[111000], tree.by_code[111900]
    assert [c.code for c in group.children] == [111900]
    assert [c.code for c in the_set.children] == [111100, 111200]
    assert [a.code for a in tree.by_code[111200].ancestors()] == [100000, 110000, 111000, 111900]
    assert [s.code for s in group.walk()] == [111000, 111900, 111100, 111200]
    shipped = load_tree()  # the back's deep intrinsic group holds two sets, as anatomy does
    assert [c.slug for c in shipped.by_code[335000].children] == ["transversospinales", "minor-deep-intrinsic"]
    assert shipped.by_code[335100].parent is shipped.by_code[335800]
    assert shipped.by_code[335600].path == "back/levatores-costarum"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("a.yaml", "- {code: 100000, kind: limb, slug: x, name: X, description: d}\n"
                     "- {code: 100000, kind: limb, slug: y, name: Y, description: d}")], "code defined twice"),
        ([("a.yaml", "- {code: 110000, kind: region, slug: x, name: X, description: d}")], "parent 100000 does not exist"),
        ([("a.yaml", "- {code: 100000, kind: limb, slug: Bad Slug, name: X, description: d}")], "slug 'Bad Slug'"),
        ([("a.yaml", "- {code: 100000, kind: region, slug: x, name: X, description: d}")], "does not fit"),
        ([("a.yaml", "- {code: 100000, kind: limb, slug: x, name: X, description: d}\n"
                     "- {code: 110000, kind: region, slug: r, name: R, description: d}\n"
                     "- {code: 111000, kind: group, slug: g, name: G, description: d}\n"
                     "- {code: 111100, kind: muscle, slug: m, name: M, latin: L}")], "missing facts"),
        ([("a.yaml", "- [unclosed")], "invalid YAML"),
        ([("a.yaml", _SET_TREE + "- {code: 111900, kind: group, slug: s, name: S, description: d, members: [112100]}")],
         "member 112100 is not a muscle beside the set"),
        ([("a.yaml", _SET_TREE + "- {code: 111900, kind: group, slug: s, name: S, description: d, members: [111100]}\n"
                     "- {code: 111800, kind: group, slug: t, name: T, description: d, members: [111100]}")],
         "already in the set 111800"),
        ([("a.yaml", _SET_TREE + "- {code: 111000, kind: group, slug: s, name: S, description: d, members: [111100]}")],
         "code defined twice"),
        ([("a.yaml", _SET_TREE + "- {code: 113000, kind: group, slug: s, name: S, description: d, members: [111100]}")],
         "only a group coded at the muscle level"),
    ],
)  # fmt: skip
def test_tree_validation_names_file_and_entry(files: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(AnatomyError) as info:
        build_tree(files)
    assert "a.yaml" in str(info.value) and message in str(info.value)


# --- matching -----------------------------------------------------------------------------------


def _expected() -> list[tuple[str, str, str]]:
    rows = []
    for line in EXPECTED.read_text().splitlines():
        if line and not line.startswith("#"):
            name, path, side = line.split("\t")
            rows.append((name, path, side))
    return rows


def test_every_real_label_name_matches_the_right_structure_and_side(data: Path) -> None:
    """Every name in the real label tables, VHF files and TotalSegmentator maps."""
    from muscle_atlas.commands.match import table_names

    expected = {name: (path, side) for name, path, side in _expected()}
    names: set[str] = set()
    for table in sorted((data / "label-tables").glob("qmritools-*.txt")):
        names |= set(table_names(str(table)).values())
    for table in sorted((data / "totalsegmentator-example").glob("labels-*.tsv")):
        names |= set(table_names(str(table)).values())
    names |= {p.stem for p in (data / "vhf-lower-limb").rglob("*.stl")}
    assert names == set(expected), "the expected table must cover exactly the real names"
    wrong = []
    for name in sorted(names):
        result = default_matcher().match(name)
        got = (result.path, result.side or "-")
        if result.status not in ("matched", "context") or got != expected[name]:
            wrong.append((name, got, expected[name]))
    assert wrong == []


def test_vhf_muscles_all_match_muscles_on_the_right_side(vhf: Path) -> None:
    for side in ("Left", "Right"):
        names = {p.stem: p.stem for p in (vhf / side).glob("*_Muscle_*.stl")}
        results = match_labels(names)
        assert all(r.status == "matched" and r.side == side.lower() for r in results)
        assert all(r.kind in ("muscle", "head") for r in results)


@pytest.mark.parametrize(
    ("name", "path", "side"),
    [
        ("5 Soleus Left", "leg/soleus", "left"),
        ("soleus_left", "leg/soleus", "left"),
        ("SOL_R", "leg/soleus", "right"),
        ("VHF_Left_Muscle_Soleus_smooth", "leg/soleus", "left"),
        ("BicepsFemorisLongHead", "thigh/biceps-femoris-long-head", None),
        ("long head of biceps femoris, right", "thigh/biceps-femoris-long-head", "right"),
        ("Peroneus Brevis L", "leg/fibularis-brevis", "left"),
        ("FlexorHallicusLongus", "leg/flexor-hallucis-longus", None),
        ("Semitendonosus_rt", "thigh/semitendinosus", "right"),
        ("quadriceps_femoris_left", "thigh/quadriceps-femoris", "left"),
        ("iliopsoas", "thigh/iliopsoas", None),
        ("thigh_posterior_compartment_right", "thigh/posterior-compartment", "right"),
        ("VL", "thigh/vastus-lateralis", None),
        ("MG left", "leg/gastrocnemius-medial-head", "left"),
        ("Musculus tibialis anterior dexter", "leg/tibialis-anterior", "right"),
    ],
)
def test_lab_naming_habits(name: str, path: str, side: str | None) -> None:
    result = default_matcher().match(name)
    assert (result.status, result.path, result.side) == ("matched", path, side)


def test_misspellings_are_corrected_and_reported() -> None:
    result = default_matcher().match("VHF_Left_Muscle_Illiacus_smooth")
    assert result.path == "thigh/iliacus" and result.method == "corrected"
    assert "illiacus → iliacus" in result.note


def test_ambiguous_abbreviation_is_not_chosen() -> None:
    result = default_matcher().match("PL_left")  # palmaris longus or peroneus longus?
    assert result.status == "ambiguous"
    assert {"forearm/palmaris-longus", "leg/fibularis-longus"} <= {c.target for c in result.candidates}
    assert result.path is None


def test_unknown_name_is_unmatched_with_candidates() -> None:
    result = default_matcher().match("Soleos accessorius weird 7")
    assert result.status == "unmatched" and result.path is None
    assert result.candidates and result.candidates[0].target == "leg/soleus"


def test_sides_are_words_not_letters_inside_words() -> None:
    assert parse_name("Rectus femoris").side is None
    assert parse_name("rectus_femoris_R").side == "right"


def test_mapping_file_overrides(tmp_path: Path) -> None:
    mapping = tmp_path / "calf.map"
    mapping.write_text("# QMRITools calf\n17 = 211201\n18 = soleus right\n13: ignore\nTibia\tcontext:tibia\n")
    resolved = read_mapping(mapping)
    results = {r.key: r for r in match_labels({"17": "17", "18": "18", "13": "13", "2": "Tibia"}, resolved)}
    assert (results["17"].path, results["17"].side, results["17"].side_code) == ("leg/soleus", "left", 211201)
    assert (results["18"].path, results["18"].side) == ("leg/soleus", "right")
    assert results["13"].status == "ignored"
    assert results["2"].status == "context" and results["2"].path == "context:tibia"


@pytest.mark.parametrize(
    ("text", "message"),
    [("17 soleus\n", "line 1: expected"), ("17 = nonsense muscle\n", "line 1: structure 'nonsense muscle'"),
     ("17 = 999990\n", "line 1: code 999990"), ("17 = soleus\n17 = soleus\n", "line 2: '17' is mapped twice")],
)  # fmt: skip
def test_bad_mapping_file_names_the_line(tmp_path: Path, text: str, message: str) -> None:
    mapping = tmp_path / "bad.map"
    mapping.write_text(text)
    with pytest.raises(AnatomyError) as info:
        read_mapping(mapping)
    assert message in str(info.value) and str(mapping) in str(info.value)


# --- commands -------------------------------------------------------------------------------------


def test_kb_json_lists_everything(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 222
    muscles = [r for r in records if r["kind"] in ("muscle", "head")]
    assert len(muscles) == 172
    for record in muscles:
        shown = [f for f in FACT_FIELDS if f not in ("synonyms", "abbreviations", "fma_id")]
        assert all(record["facts"][f] not in ("", None) for f in shown)


def test_kb_query_and_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "leg/soleus", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["facts"]["latin"] == "Musculus soleus"
    assert main(["kb", "no such muscle"]) == 2
    assert "not found" in capsys.readouterr().err


def test_match_command_on_calf_mri_with_a_map(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mapping = tmp_path / "calf.map"
    mapping.write_text("17 = soleus left\n18 = soleus right\n")
    volume = data / "qmritools-calf-mri" / "labels.nii.gz"
    assert main(["match", str(volume), "--map", str(mapping), "--json"]) == 0
    results = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    assert results["17"]["path"] == "leg/soleus" and results["17"]["side"] == "left"
    assert results["13"]["status"] == "unmatched"


def test_match_command_totalsegmentator_task(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["match", "totalsegmentator:thigh_shoulder_muscles", "--json"]) == 0
    results = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert all(r["status"] == "matched" for r in results.values())
    assert results["thigh_medial_compartment_left"]["path"] == "thigh/medial-compartment"
    assert results["coracobrachial"]["path"] == "arm/coracobrachialis"
