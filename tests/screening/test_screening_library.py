"""The default library loads, cites its sources, and bad libraries fail with a clear place."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from healthprep_desktop.screening.library import (
    LibraryError,
    default_library,
    default_library_path,
    parse_library,
    resolve_valueset,
)
from healthprep_desktop.screening.valuesets import SNOMED

EXPECTED_GROUPS = {
    "breast_cancer",
    "cervical_cancer",
    "colorectal_cancer",
    "lung_cancer",
    "osteoporosis",
    "abdominal_aortic_aneurysm",
    "hepatitis_c",
    "hiv",
    "diabetes_hba1c",
    "diabetes_screening",
    "diabetic_eye_exam",
    "kidney_health",
    "tobacco_use",
    "depression",
    "blood_pressure",
    "lipids_statin",
    "influenza_vaccine",
    "pneumococcal_vaccine",
    "zoster_vaccine",
    "td_tdap_vaccine",
    "bmi_screening",
    "falls_screening",
}


def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(default_library_path().read_text(encoding="utf-8"))
    return data


def test_default_library_covers_the_adult_screenings() -> None:
    lib = default_library()
    assert {g for g, _ in lib.groups()} == EXPECTED_GROUPS
    for s in lib.screenings:
        assert s.sources, s.id
        assert all(src.type and src.ref for src in s.sources)
        assert s.frequency, s.id
    # USPSTF grade A/B screenings say so in their source.
    uspstf = {s.group for s in lib.screenings if any(x.type == "USPSTF" for x in s.sources)}
    assert {"breast_cancer", "colorectal_cancer", "lung_cancer", "hiv", "hepatitis_c"} <= uspstf


def test_every_cited_value_set_is_shipped_with_that_name() -> None:
    data = raw()
    assert len(data["value_sets"]) > 40
    for oid, name in data["value_sets"].items():
        assert resolve_valueset(oid).name == name
    for sid, local in data["local_code_sets"].items():
        assert sid.startswith("local."), sid
        assert local["source"] and local["codes"], sid


def test_variants_are_ranked_most_specific_first() -> None:
    groups = dict(default_library().groups())
    assert [s.id for s in groups["diabetes_screening"]] == [
        "prediabetes_monitoring",
        "diabetes_screening",
    ]
    assert [s.id for s in groups["diabetic_eye_exam"]] == [
        "diabetic_eye_exam_retinopathy",
        "diabetic_eye_exam",
    ]
    assert groups["blood_pressure"][0].id == "blood_pressure_control"


def test_prediabetes_codes_are_not_diabetes_codes() -> None:
    lib = default_library()
    diabetes = lib.code_sets["2.16.840.1.113883.3.464.1003.103.12.1001"].keys
    prediabetes = lib.code_sets["local.prediabetes"].keys
    assert (SNOMED, "15777000") in prediabetes
    assert not diabetes & prediabetes


def test_valueset_saved_with_a_version_suffix_still_resolves() -> None:
    # resources/valuesets holds some files as "<oid>-<version>.json"; the OID alone must work.
    vs = resolve_valueset("2.16.840.1.113883.3.600.263")
    assert vs.name == "Diagnosis of Hypertension"
    with pytest.raises(KeyError):
        resolve_valueset("2.16.840.1.113883.0.0.0")


def _broken(mutate: Any) -> str:
    data = copy.deepcopy(raw())
    mutate(data)
    with pytest.raises(LibraryError) as err:
        parse_library(data)
    return str(err.value)


def _screening(data: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in data["screenings"] if s["id"] == sid)


def test_unknown_code_set_names_its_place() -> None:
    msg = _broken(
        lambda d: _screening(d, "colorectal_cancer")["modalities"][0].update(sets=["local.nope"])
    )
    assert "colorectal_cancer" in msg and "modalities[0].sets" in msg and "local.nope" in msg


def test_value_set_name_must_match() -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["value_sets"]["2.16.840.1.113883.3.464.1003.108.12.1018"] = "Mamography"

    msg = _broken(mutate)
    assert "Mamography" in msg and "Mammography" in msg


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: _screening(d, "breast_cancer").update(sex="woman"), "sex"),
        (
            lambda d: _screening(d, "breast_cancer").update(age={"min": 80, "max": 40}),
            "min is above",
        ),
        (lambda d: _screening(d, "breast_cancer").update(age={"min": 40, "on": "birthday"}), ".on"),
        (lambda d: _screening(d, "breast_cancer").update(sources=[]), "sources"),
        (lambda d: _screening(d, "breast_cancer").update(colour="blue"), "unknown field(s) colour"),
        (
            lambda d: _screening(d, "breast_cancer")["modalities"][0].update(every={"weeks": 2}),
            "unknown field(s) weeks",
        ),
        (
            lambda d: _screening(d, "breast_cancer")["modalities"][0].update(every={"years": 0}),
            "longer than zero",
        ),
        (
            lambda d: _screening(d, "breast_cancer")["exclusions"].append("@nonexistent"),
            "no such named criterion",
        ),
        (
            lambda d: d["criteria"].update(loop={"label": "x", "any_of": ["@loop"]}),
            "refers to itself",
        ),
        (lambda d: d.update(schema=2), "schema"),
        (
            lambda d: _screening(d, "hiv")["modalities"][0].update(resources=["Patient"]),
            "unsupported resource type",
        ),
        (lambda d: d["screenings"].append(copy.deepcopy(d["screenings"][0])), "duplicate id"),
    ],
)
def test_invalid_libraries_are_rejected(mutate: Any, fragment: str) -> None:
    assert fragment in _broken(mutate)


def test_a_minimal_library_of_local_codes_loads(tmp_path: Path) -> None:
    from healthprep_desktop.screening.library import load_library

    data = {
        "schema": 1,
        "name": "Tiny",
        "version": "1",
        "local_code_sets": {
            "local.x": {
                "name": "X",
                "source": "test",
                "codes": [{"system": "http://loinc.org", "code": "1-1"}],
            }
        },
        "screenings": [
            {
                "id": "x",
                "name": "X test",
                "description": "d",
                "sources": [{"type": "test", "ref": "r"}],
                "modalities": [{"id": "m", "name": "X", "sets": ["local.x"], "every": "once"}],
            }
        ],
    }
    path = tmp_path / "lib.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    lib = load_library(path)
    assert lib.screenings[0].frequency == "once"
    assert lib.code_index[("http://loinc.org", "1-1")] == ("local.x",)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(LibraryError, match="not valid JSON"):
        load_library(path)
