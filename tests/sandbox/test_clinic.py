"""The synthetic clinic as data: valid R4B resources, whole references, real codes, determinism."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.sandbox.clinic import codes as clinic_codes
from healthprep_desktop.sandbox.clinic.clock import age_on
from healthprep_desktop.sandbox.clinic.codes import VS, valueset
from healthprep_desktop.sandbox.clinic.people import BIRTHSEX_URL, SEX_URL

JSON = dict[str, Any]
REFERENCE = date(2026, 12, 1)
CLINIC_DAY = date(2026, 12, 2)  # a Wednesday


@pytest.fixture(scope="module")
def clinic() -> SyntheticClinic:
    return SyntheticClinic(seed=11, patients=60)


@pytest.fixture(scope="module")
def resources(clinic: SyntheticClinic) -> list[JSON]:
    return clinic.resources()


def _digest(clinic: SyntheticClinic) -> str:
    h = hashlib.sha256()
    for resource in clinic.resources():
        h.update(json.dumps(resource, sort_keys=True).encode())
    for appointment in clinic.schedule(CLINIC_DAY):
        h.update(json.dumps(appointment, sort_keys=True).encode())
    return h.hexdigest()


def test_every_generated_resource_parses_with_the_r4b_models(
    clinic: SyntheticClinic, resources: list[JSON]
) -> None:
    everything = resources + clinic.schedule(CLINIC_DAY) + clinic.schedule(CLINIC_DAY, count=40)
    failures = []
    for resource in everything:
        model = get_fhir_model_class(resource["resourceType"])
        try:
            model.model_validate(resource)
        except ValueError as exc:  # pydantic.ValidationError is a ValueError
            failures.append(f"{resource['resourceType']}/{resource['id']}: {exc}")
    assert failures == []


def test_the_clinic_holds_every_resource_type_the_sandbox_serves(resources: list[JSON]) -> None:
    kinds = Counter(r["resourceType"] for r in resources)
    expected = {
        "Patient", "Practitioner", "Location", "Organization", "Encounter", "Condition",
        "Observation", "Procedure", "DiagnosticReport", "Immunization", "MedicationRequest",
        "DocumentReference", "Binary", "ServiceRequest", "DeviceRequest",
    }  # fmt: skip
    assert set(kinds) == expected
    assert kinds["Patient"] == 60


def _references(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def test_ids_are_unique_and_every_reference_resolves(resources: list[JSON]) -> None:
    keys = [f"{r['resourceType']}/{r['id']}" for r in resources]
    assert len(keys) == len(set(keys))
    known = set(keys)
    dangling = {ref for r in resources for ref in _references(r) if ref not in known}
    assert dangling == set()
    attachments = [
        r["content"][0]["attachment"] for r in resources if r["resourceType"] == "DocumentReference"
    ]
    assert all(("url" in a) != ("data" in a) for a in attachments)
    assert all(a["url"] in known for a in attachments if "url" in a)


def test_same_seed_gives_identical_json_and_another_seed_differs() -> None:
    first = _digest(SyntheticClinic(seed=5, patients=25))
    again = _digest(SyntheticClinic(seed=5, patients=25))
    other = _digest(SyntheticClinic(seed=6, patients=25))
    assert first == again
    assert first != other


def test_same_seed_gives_identical_json_in_another_process_with_another_hash_seed() -> None:
    # Iterating a set of strings would differ between processes (PYTHONHASHSEED): catch it.
    script = (
        "import hashlib, json; from datetime import date;"
        "from healthprep_desktop.sandbox.clinic import SyntheticClinic;"
        "c = SyntheticClinic(seed=5, patients=25); h = hashlib.sha256();"
        "[h.update(json.dumps(r, sort_keys=True).encode()) for r in c.resources()];"
        "[h.update(json.dumps(a, sort_keys=True).encode()) for a in c.schedule(date(2026, 12, 2))];"
        "print(h.hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == _digest(SyntheticClinic(seed=5, patients=25))


def test_a_smaller_clinic_is_a_prefix_of_a_bigger_one_with_the_same_seed() -> None:
    small, big = SyntheticClinic(seed=9, patients=10), SyntheticClinic(seed=9, patients=40)
    for pid in small.patient_ids():
        assert small.patient_resources(pid)[0] == big.patient_resources(pid)[0]


def test_every_concept_code_comes_from_its_value_set() -> None:
    for concept in clinic_codes.all_concepts():
        for coding in concept.codings():
            if concept.oid is not None:
                assert valueset(concept.oid).matches(coding.system, coding.code), concept.key


def _loinc_check_digit(number: str) -> int:
    """LOINC's mod-10 check digit (the LOINC users' guide, appendix)."""
    digits = number[::-1]  # positions counted from the right, the rightmost first
    odd = int(digits[0::2][::-1]) * 2  # 1st, 3rd, ... positions from the right, doubled
    even = digits[1::2][::-1]
    total = sum(int(d) for d in f"{even}{odd}")
    return (10 - total % 10) % 10


def test_loinc_check_digit_helper_on_known_codes() -> None:
    for code in ("8664-5", "4548-4", "72166-2", "39156-5", "85354-9", "2093-3", "62238-1"):
        number, check = code.split("-")
        assert _loinc_check_digit(number) == int(check), code
    assert _loinc_check_digit("8664") != 7


def test_every_loinc_code_written_has_a_valid_check_digit(resources: list[JSON]) -> None:
    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if node.get("system") == "http://loinc.org" and isinstance(node.get("code"), str):
                yield node["code"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    codes = {code for resource in resources for code in walk(resource)}
    codes |= {
        c.code
        for concept in clinic_codes.all_concepts()
        for c in concept.codings()
        if c.system == "http://loinc.org"
    }
    assert len(codes) > 20
    bad = sorted(
        code
        for code in codes
        if not (
            "-" in code
            and code.split("-")[0].isdigit()
            and _loinc_check_digit(code.split("-")[0]) == int(code.split("-")[1])
        )
    )
    assert bad == []


def test_prediabetes_codes_are_not_diabetes_codes() -> None:
    diabetes = valueset(VS.DIABETES)
    for coding in clinic_codes.PREDIABETES.codings():
        assert not diabetes.matches(coding.system, coding.code)


def _patients(resources: list[JSON]) -> list[JSON]:
    return [r for r in resources if r["resourceType"] == "Patient"]


def _extension(patient: JSON, url: str) -> JSON | None:
    return next((e for e in patient.get("extension", []) if e["url"] == url), None)


def test_demographics_are_adult_heavy_with_mrns_names_and_sex_extensions(
    resources: list[JSON],
) -> None:
    patients = _patients(resources)
    ages = [
        age_on(date.fromisoformat(p["birthDate"]), REFERENCE) for p in patients if "birthDate" in p
    ]
    adults = [a for a in ages if 18 <= a <= 90]
    assert len(adults) >= 0.85 * len(ages)
    assert max(ages) <= 90
    for patient in patients:
        mrn = patient["identifier"][0]
        assert mrn["type"]["coding"][0]["code"] == "MR" and mrn["system"].startswith("https://")
        assert patient["name"][0]["family"] and patient["name"][0]["given"]
        assert patient["address"][0]["postalCode"] and patient["telecom"][0]["value"]
        birthsex = _extension(patient, BIRTHSEX_URL)
        if birthsex is not None:
            assert birthsex["valueCode"] in ("F", "M")
        sex = _extension(patient, SEX_URL)
        if sex is not None:
            assert sex["valueCoding"]["code"] in ("248152002", "248153007")
    assert len({p["identifier"][0]["value"] for p in patients}) == len(patients)
    assert any(_extension(p, SEX_URL) for p in patients)


def test_some_charts_tell_sex_only_by_extension_and_some_lack_a_birth_date(
    clinic: SyntheticClinic, resources: list[JSON]
) -> None:
    by_archetype = {clinic.traits(p["id"]).get("archetype"): p for p in _patients(resources)}
    unknown, absent = by_archetype["gender_unknown"], by_archetype["gender_absent"]
    assert unknown["gender"] == "unknown"
    assert "gender" not in absent
    for patient in (unknown, absent):
        assert _extension(patient, SEX_URL)["valueCoding"]["code"] == "248152002"  # type: ignore[index]
    for patient in _patients(resources):
        undated = clinic.traits(patient["id"]).get("archetype") == "no_birth_date"
        assert ("birthDate" in patient) is not undated


def test_practitioners_have_valid_npis(resources: list[JSON]) -> None:
    def luhn_ok(npi: str) -> bool:
        digits = [int(d) for d in "80840" + npi]
        total = 0
        for position, digit in enumerate(reversed(digits)):
            if position % 2 == 1:
                digit = digit * 2 - 9 if digit * 2 > 9 else digit * 2
            total += digit
        return total % 10 == 0

    practitioners = [r for r in resources if r["resourceType"] == "Practitioner"]
    assert practitioners
    for practitioner in practitioners:
        npi = practitioner["identifier"][0]
        assert npi["system"] == "http://hl7.org/fhir/sid/us-npi"
        assert len(npi["value"]) == 10 and luhn_ok(npi["value"])


def test_a_500_patient_clinic_generation_time_is_reported() -> None:
    # Printed, not asserted: the machine is shared and timings are noisy (bench/ has figures).
    started = time.perf_counter()
    clinic = SyntheticClinic(seed=1, patients=500)
    count = sum(1 for _ in clinic.iter_resources())
    elapsed = time.perf_counter() - started
    print(f"\n500-patient clinic: {count} resources in {elapsed:.1f} s")
    assert count > 500 * 10
