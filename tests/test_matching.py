"""Matching that knows what is not a muscle: bones, nerves, vessels, muscles outside the tree,
heads and parts merged into their muscle, Latin and English anatomical names, and the body-part
prior of a whole data set."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest

from muscle_atlas.anatomy.match import MatchResult, default_matcher, match_labels
from muscle_atlas.anatomy.names import load_lexicon, parse_name, readable_name
from muscle_atlas.anatomy.tree import Structure, load_tree
from muscle_atlas.cli import main

EXPECTED_UPPER_LIMB = Path(__file__).parent / "data" / "expected_upper_limb.tsv"


def glb_node_names(path: Path) -> list[str]:
    """Node names of a binary glTF, from its JSON chunk (stdlib only)."""
    data = path.read_bytes()
    length = struct.unpack("<I", data[12:16])[0]
    return [node.get("name", "") for node in json.loads(data[20 : 20 + length])["nodes"]]


def _got(result: MatchResult) -> tuple[str, str | None, str]:
    target = result.path if result.status == "matched" else result.kind if result.status == "context" else None
    return result.status, target, result.side or "-"


# --- the Z-Anatomy upper limb: every node ---------------------------------------------------------


def test_every_node_of_the_zanatomy_upper_limb(data: Path) -> None:
    names = glb_node_names(data / "zanatomy-upper-limb" / "upper-limb.glb")
    rows = [line.split("\t") for line in EXPECTED_UPPER_LIMB.read_text().splitlines() if not line.startswith("#")]
    expected = {name: (status, target, side, method) for name, status, target, side, method in rows}
    assert len(names) == 126 and set(names) == set(expected)
    wrong = []
    for result in match_labels({n: n for n in names}):
        method = "merged" if result.method == "merged" else "-"
        got = (*_got(result), method)
        if got != expected[result.name]:
            wrong.append((result.name, got, expected[result.name]))
    assert wrong == []


def test_upper_limb_bones_are_never_muscles_and_context_keeps_readable_names(data: Path) -> None:
    names = glb_node_names(data / "zanatomy-upper-limb" / "upper-limb.glb")
    results = {r.name: r for r in match_labels({n: n for n in names})}
    assert all(r.status in ("matched", "context") for r in results.values())
    pisiform, trapezium = results["Pisiform_bone_r"], results["Trapezium_bone_r"]
    assert (pisiform.status, pisiform.kind, trapezium.status, trapezium.kind) == ("context", "bone", "context", "bone")
    phalanx = results["Proximal_phalanx_of_fifth_finger_of_hand_r"]
    assert (phalanx.structure, phalanx.kind) == ("Proximal phalanx of fifth finger of hand", "bone")
    assert results["Median_nerve_r"].structure == "Median nerve" and results["Median_nerve_r"].kind == "nerve"
    merged = [r for r in results.values() if r.method == "merged"]
    assert {(r.path, r.side) for r in merged} == {("forearm/pronator-teres", "right"),
                                                  ("forearm/extensor-carpi-ulnaris", "right")}  # fmt: skip
    heads = {r.note for r in merged if r.path == "forearm/pronator-teres"}
    assert heads == {"superficial head merged into Pronator teres", "deep head merged into Pronator teres"}


# --- held-out style names, written from anatomy rather than from our data --------------------------

HELD_OUT = [
    # BodyParts3D / Z-Anatomy English, lower limb
    ("Long_head_of_biceps_femoris_l", "matched", "thigh/biceps-femoris-long-head", "left"),
    ("Short_head_of_biceps_femoris_l", "matched", "thigh/biceps-femoris-short-head", "left"),
    ("Tibialis_anterior_muscle_l", "matched", "leg/tibialis-anterior", "left"),
    ("Lateral_head_of_gastrocnemius_l", "matched", "leg/gastrocnemius-lateral-head", "left"),
    ("Vastus_medialis_muscle.r", "matched", "thigh/vastus-medialis", "right"),
    ("Superior_gemellus_muscle_r", "matched", "hip/gemellus-superior", "right"),
    ("Fibularis_tertius_l", "matched", "leg/fibularis-tertius", "left"),
    ("Medial_cuneiform_bone_l", "context", "bone", "left"),
    ("First_metatarsal_bone_l", "context", "bone", "left"),
    ("Proximal_phalanx_of_great_toe_l", "context", "bone", "left"),
    ("Distal_phalanx_of_second_toe_l", "context", "bone", "left"),
    ("Talus_l", "context", "bone", "left"),
    ("Greater_trochanter_of_femur_l", "context", "bone", "left"),
    ("Femoral_artery_l", "context", "artery", "left"),
    ("Popliteal_artery_l", "context", "artery", "left"),
    ("Dorsalis_pedis_artery_l", "context", "artery", "left"),
    ("Plantar_arch_l", "context", "artery", "left"),
    ("Great_saphenous_vein_l", "context", "vein", "left"),
    ("Small_saphenous_vein_l", "context", "vein", "left"),
    ("Sciatic_nerve_l", "context", "nerve", "left"),
    ("Common_fibular_nerve_l", "context", "nerve", "left"),
    ("Lumbar_plexus", "context", "nerve", "-"),
    ("Medial_meniscus_l", "context", "ligament", "left"),
    ("Anterior_cruciate_ligament_l", "context", "ligament", "left"),
    ("Inferior_extensor_retinaculum_l", "context", "ligament", "left"),
    ("Calcaneal_tendon_l", "context", "tendon", "left"),
    ("Iliotibial_tract_l", "context", "fascia", "left"),
    ("Plantar_aponeurosis_l", "context", "fascia", "left"),
    ("Abductor_hallucis_l", "context", "muscle", "left"),
    ("Flexor_digitorum_brevis_muscle_l", "context", "muscle", "left"),
    ("Quadratus_plantae_l", "context", "muscle", "left"),
    ("Oblique_head_of_adductor_hallucis_l", "context", "muscle", "left"),
    ("Dorsal_interossei_of_foot_l", "context", "muscle", "left"),
    ("Inguinal_lymph_nodes_l", "context", "organ", "left"),
    ("Infrapatellar_fat_pad_l", "context", "fat", "left"),
    # trunk
    ("Descending_part_of_trapezius_muscle_r", "matched", "shoulder/trapezius", "right"),
    ("Transverse_part_of_trapezius_muscle_r", "matched", "shoulder/trapezius", "right"),
    ("Iliocostalis_lumborum_muscle_l", "matched", "back/iliocostalis", "left"),
    ("Longissimus_thoracis_l", "matched", "back/longissimus", "left"),
    ("Splenius_capitis_muscle_l", "matched", "back/splenius-capitis", "left"),
    ("Splenius_cervicis_muscle_l", "matched", "back/splenius-cervicis", "left"),
    ("Rectus_abdominis_muscle", "matched", "abdomen/rectus-abdominis", "-"),
    ("Diaphragm", "matched", "abdomen/diaphragm", "-"),
    ("External_intercostal_muscles", "context", "muscle", "-"),
    ("Internal_intercostal_muscles_r", "context", "muscle", "right"),
    ("Levatores_costarum", "matched", "back/levatores-costarum", "-"),
    ("Interspinales_lumborum_muscles_l", "matched", "back/interspinales", "left"),
    ("Medial_lumbar_intertransversarii_r", "matched", "back/intertransversarii", "right"),
    ("External_anal_sphincter", "context", "muscle", "-"),
    ("Bulbospongiosus_muscle", "context", "muscle", "-"),
    ("Rectus_sheath", "context", "fascia", "-"),
    ("Linea_alba", "context", "fascia", "-"),
    ("Thoracolumbar_fascia", "context", "fascia", "-"),
    ("Aponeurosis_of_external_oblique", "context", "fascia", "-"),
    ("Seventh_rib_l", "context", "bone", "left"),
    ("Manubrium_of_sternum", "context", "bone", "-"),
    ("Fifth_lumbar_vertebra", "context", "bone", "-"),
    ("Intervertebral_disc", "context", "cartilage", "-"),
    ("Arch_of_aorta", "context", "artery", "-"),
    ("Thoracic_duct", "context", "vessel", "-"),
    ("Left_lung", "context", "organ", "left"),
    # neck and head
    ("Superior_belly_of_omohyoid_l", "matched", "neck/omohyoid", "left"),
    ("Anterior_belly_of_digastric_muscle_r", "matched", "neck/digastric", "right"),
    ("Middle_scalene_muscle_r", "matched", "neck/scalenus-medius", "right"),
    ("Superficial_part_of_masseter_r", "matched", "head/masseter", "right"),
    ("Temporal_muscle_l", "matched", "head/temporalis", "left"),
    ("Transverse_muscle_of_tongue", "matched", "head/transverse-muscle-of-tongue", "-"),
    ("Sternocleidomastoid_muscle_l", "context", "muscle", "left"),
    ("Sternal_head_of_sternocleidomastoid_l", "context", "muscle", "left"),
    ("Platysma_r", "context", "muscle", "right"),
    ("Longus_colli_l", "context", "muscle", "left"),
    ("Zygomaticus_major_r", "context", "muscle", "right"),
    ("Lateral_rectus_muscle_r", "context", "muscle", "right"),
    ("Posterior_cricoarytenoid_r", "context", "muscle", "right"),
    ("Superior_pharyngeal_constrictor", "context", "muscle", "-"),
    ("Hyoid_bone", "context", "bone", "-"),
    ("Temporal_bone_l", "context", "bone", "left"),
    ("Zygomatic_arch_l", "context", "bone", "left"),
    ("Thyroid_cartilage", "context", "cartilage", "-"),
    ("Internal_jugular_vein_l", "context", "vein", "left"),
    ("External_carotid_artery_l", "context", "artery", "left"),
    ("Vagus_nerve_l", "context", "nerve", "left"),
    ("Parotid_gland_l", "context", "organ", "left"),
    ("Masseteric_fascia_l", "context", "fascia", "left"),
    ("Orbital_part_of_orbicularis_oculi_r", "matched", "head/orbicularis-oculi", "right"),
    ("Frontal_belly_of_occipitofrontalis_r", "context", "muscle", "right"),
    ("Spine_of_scapula_r", "context", "bone", "right"),
    ("Acetabular_labrum_l", "context", "ligament", "left"),
    # Visible Human Male CamelCase
    ("VHM_Right_Muscle_BicepsFemorisLongus_smooth", "matched", "thigh/biceps-femoris-long-head", "right"),
    ("VHM_Left_Muscle_BicepsFemorisBrevis_smooth", "matched", "thigh/biceps-femoris-short-head", "left"),
    ("VHM_Left_Muscle_AdductorMagnus_smooth", "matched", "thigh/adductor-magnus", "left"),
    ("VHM_Left_Muscle_GastrocnemiusLateralis_smooth", "matched", "leg/gastrocnemius-lateral-head", "left"),
    ("VHM_Left_Muscle_SemiMembranosus_smooth", "matched", "thigh/semimembranosus", "left"),
    ("VHM_Right_Muscle_TensorFasciaLatae_smooth", "matched", "hip/tensor-fasciae-latae", "right"),
    ("VHM_Left_Muscle_ExtensorDigitorumBrevis_smooth", "context", "muscle", "left"),
    ("VHM_Left_Muscle_AbductorHallucis_smooth", "context", "muscle", "left"),
    ("VHM_Left_Bone_Metatarsal1_smooth", "context", "bone", "left"),
    ("VHM_Left_Artery_Femoral_smooth", "context", "artery", "left"),
    ("VHM_Left_Nerve_Sciatic_smooth", "context", "nerve", "left"),
    # Latin (Terminologia Anatomica)
    ("Musculus soleus", "matched", "leg/soleus", "-"),
    ("Musculus gluteus medius dexter", "matched", "hip/gluteus-medius", "right"),
    ("Caput longum musculi bicipitis femoris", "matched", "thigh/biceps-femoris-long-head", "-"),
    ("Caput mediale musculi gastrocnemii", "matched", "leg/gastrocnemius-medial-head", "-"),
    ("Pars descendens musculi trapezii", "matched", "shoulder/trapezius", "-"),
    ("Caput superficiale musculi pronatoris teretis", "matched", "forearm/pronator-teres", "-"),
    ("Caput ulnare musculi extensoris carpi ulnaris", "matched", "forearm/extensor-carpi-ulnaris", "-"),
    ("Musculi intercostales externi", "context", "muscle", "-"),
    ("Musculus flexor digitorum brevis", "context", "muscle", "-"),
    ("Arteria femoralis", "context", "artery", "-"),
    ("Vena saphena magna", "context", "vein", "-"),
    ("Nervus ischiadicus", "context", "nerve", "-"),
    ("Os pisiforme", "context", "bone", "-"),
    ("Ligamentum patellae", "context", "ligament", "-"),
    # kind words first, exact names still win
    ("fascia of the masseter", "context", "fascia", "-"),
    ("Tendon of long head of biceps brachii", "context", "tendon", "-"),
    ("Tensor fasciae latae", "matched", "hip/tensor-fasciae-latae", "-"),
    ("Pisiform", "context", "bone", "-"),
    ("Trapezium", "context", "bone", "-"),
    # the zygomatic bone is never the zygomaticus muscle
    ("zygomatic_left", "context", "bone", "left"),
    ("zygomaticus_major", "context", "muscle", "-"),
]


@pytest.mark.parametrize(("name", "status", "target", "side"), HELD_OUT)
def test_held_out_style_names(name: str, status: str, target: str, side: str) -> None:
    assert _got(default_matcher().match(name)) == (status, target, side)


def test_merged_heads_say_what_was_merged_and_share_structure_and_side() -> None:
    names = ["Superficial_head_of_pronator_teres_l", "Deep_head_of_pronator_teres_l", "Pronator_teres_r"]
    results = match_labels({n: n for n in names})
    assert [(r.status, r.path, r.side, r.method) for r in results] == [
        ("matched", "forearm/pronator-teres", "left", "merged"),
        ("matched", "forearm/pronator-teres", "left", "merged"),
        ("matched", "forearm/pronator-teres", "right", "exact"),
    ]
    assert results[0].note == "superficial head merged into Pronator teres"
    # What the tree lists separately is never merged.
    humeral = default_matcher().match("Humeral_head_of_flexor_carpi_ulnaris")
    assert (humeral.path, humeral.method) == ("forearm/flexor-carpi-ulnaris-humeral-head", "exact")


def test_a_muscle_called_by_a_bone_name_is_not_guessed() -> None:
    result = default_matcher().match("Trapezium muscle")
    assert result.status == "ambiguous"
    assert {"context:bone", "shoulder/trapezius"} == {c.target for c in result.candidates}


def test_a_bone_name_among_hand_bones_stays_a_bone() -> None:
    names = ["Scaphoid", "Lunate", "Triquetrum", "Trapezium", "Trapezoid", "Capitate", "Hamate"]
    assert {(r.status, r.kind) for r in match_labels({n: n for n in names})} == {("context", "bone")}


def test_a_tree_synonym_that_names_another_muscle_is_ambiguous() -> None:
    """The words "inferior oblique" are a synonym of obliquus capitis inferior and the eye muscle's name."""
    result = default_matcher().match("Inferior oblique")
    assert result.status == "ambiguous"
    assert {c.target for c in result.candidates} == {"neck/obliquus-capitis-inferior", "context:muscle"}


# --- the body-part prior --------------------------------------------------------------------------


def test_ambiguous_name_resolves_inside_the_data_sets_body_part() -> None:
    lower = ["Soleus_l", "Gastrocnemius medial head left", "Tibialis anterior left", "Extensor digitorum longus_l",
             "PL_left", "Tibia_l"]  # fmt: skip
    results = {r.name: r for r in match_labels({n: n for n in lower})}
    assert (results["PL_left"].status, results["PL_left"].path) == ("matched", "leg/fibularis-longus")
    assert results["PL_left"].note == "resolved within lower limb (the body part of the other labels)"
    upper = ["Biceps brachii", "Triceps brachii", "Brachialis", "PL"]
    assert {r.name: r.path for r in match_labels({n: n for n in upper})}["PL"] == "forearm/palmaris-longus"
    alone = match_labels({"PL_left": "PL_left"})[0]
    assert alone.status == "ambiguous" and alone.path is None and len(alone.candidates) >= 2


def test_the_prior_needs_a_dominant_body_part_and_never_picks_context() -> None:
    mixed = ["Soleus", "Tibialis anterior", "Biceps brachii", "Triceps brachii", "PL"]
    assert {r.name: r.status for r in match_labels({n: n for n in mixed})}["PL"] == "ambiguous"
    neck = ["Splenius capitis", "Scalenus anterior", "Sternohyoid", "Inferior oblique"]
    # obliquus capitis inferior is in the neck, but the eye muscle cannot be ruled out
    assert {r.name: r.status for r in match_labels({n: n for n in neck})}["Inferior oblique"] == "ambiguous"


# --- every name of the tree, in English, Latin and lab forms ------------------------------------------

LATIN_ADJECTIVES = {"long": "longus", "short": "brevis", "lateral": "lateralis", "medial": "medialis"}


def _forms(structure: Structure) -> list[str]:
    forms = [structure.name, f"{structure.name.replace(' ', '_')}_muscle_l", structure.facts.latin]
    if ", " in structure.name:  # "Biceps femoris, long head"
        muscle, qualifier = structure.name.split(", ", 1)
        forms += [f"{qualifier} of {muscle}", f"{qualifier} of {muscle} muscle".replace(" ", "_").capitalize() + "_r"]
        adjective = qualifier.rsplit(" ", 1)[0]
        words = re.split(r"[ -]", muscle) + re.split(r"[ -]", LATIN_ADJECTIVES.get(adjective, adjective))
        forms.append("VHM_Left_Muscle_" + "".join(w.capitalize() for w in words) + "_smooth")
    else:
        camel = "".join(w.capitalize() for w in re.split(r"[ -]", structure.name))
        forms += [f"VHM_Left_Muscle_{camel}_smooth", f"Musculus {structure.name.lower()}"]
    return forms


def test_every_muscle_and_head_is_recognised_in_english_latin_and_lab_forms() -> None:
    wrong = []
    for structure in load_tree():
        if structure.kind in ("muscle", "head") and not structure.same_as:
            for form in _forms(structure):
                result = default_matcher().match(form)
                if (result.status, result.path) != ("matched", structure.path):
                    wrong.append((form, result.status, result.path))
    assert wrong == []


# --- the lexicon ----------------------------------------------------------------------------------


def test_lexicon_names_never_shadow_a_tree_structure_name() -> None:
    """A lexicon name may equal a tree synonym (then the name is ambiguous), never a structure's
    own name or Latin name, which would make a muscle unreachable."""
    matcher = default_matcher()
    for bag, entries in matcher.bags.items():
        own = [e for e in entries if e.structure is not None and not e.synonym]
        lexicon = [e for e in entries if e.lexicon]
        assert not (own and lexicon), (sorted(bag), [e.display for e in own], [e.display for e in lexicon])


def test_lexicon_words_join_the_vocabulary_and_kind_words_beat_spelling() -> None:
    matcher = default_matcher()
    assert {"pisiform", "trapezium", "hamate"} <= set(matcher.vocabulary)
    assert parse_name("Pisiform_bone_r").category == "bone"
    assert parse_name("Fascia of the masseter").category == "fascia"
    assert parse_name("Artery of the sciatic nerve").category == "artery"
    assert parse_name("Deep branch of ulnar nerve").category == "nerve"
    assert parse_name("Arteria radialis").category == "artery"
    assert {load_lexicon().normalise(w) for w in ("longus", "longum", "long")} == {"long"}
    assert load_lexicon().normalise("bicipitis") == load_lexicon().normalise("biceps")


@pytest.mark.parametrize(
    ("name", "readable"),
    [
        ("Proximal_phalanx_of_fifth_finger_of_hand_r", "Proximal phalanx of fifth finger of hand"),
        ("VHM_Right_Muscle_FlexorDigitorumBrevis_smooth", "Flexor digitorum brevis"),
        ("VHM_Left_Artery_Femoral_smooth", "Femoral artery"),
        ("VHF_Left_Ligament_ACL_smooth", "ACL ligament"),
        ("12 Median nerve Left", "Median nerve"),
    ],
)
def test_readable_names(name: str, readable: str) -> None:
    assert readable_name(name) == readable


# --- the match command ------------------------------------------------------------------------------


def test_match_command_prints_kinds_and_notes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "labels.tsv"
    names = ["Soleus left", "Tibialis anterior left", "Gastrocnemius medial left", "PL left", "Pisiform bone",
             "Median nerve", "Abductor hallucis", "Straight head of rectus femoris"]  # fmt: skip
    table.write_text("label\tname\n" + "".join(f"{i}\t{n}\n" for i, n in enumerate(names, start=1)))
    assert main(["match", str(table)]) == 0
    out = capsys.readouterr().out
    for text in ("bone", "nerve", "muscle outside the atlas", "straight head merged into", "resolved within lower"):
        assert text in out, text
