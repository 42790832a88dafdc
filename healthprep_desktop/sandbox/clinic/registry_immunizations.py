"""The immunization registry's charts for the multi-source demo: immunizations only.

shared_patients gives the registry its copies of the clinic's patients (demographics, with the
perturbations matching must cope with); a registry's record of a person is their vaccines, so
each copy gets what a state registry typically holds: this season's flu shot for most, a
pneumococcal conjugate for many over 65, recombinant zoster for some over 50, a Tdap in the last
ten years for some (given elsewhere: pharmacies, other clinics). Deterministic per seed.

A registry also holds what the clinic itself reported: providers send each dose they give to the
state's registry (HL7 VXU), so most doses in the clinic's own chart come back from the registry
too, under the registry's ids and without the clinic's lot and time of day. Merged, such a dose
counts once (the clinic's copy wins; the registry is named as also holding it).
`clinic_reported_doses` reads them from the clinic's charts (about 12 ms a patient).
"""

from __future__ import annotations

import dataclasses
import random
from datetime import date, timedelta

from healthprep_desktop.sandbox.clinic import codes
from healthprep_desktop.sandbox.clinic.clinic import SyntheticClinic
from healthprep_desktop.sandbox.clinic.people import JSON
from healthprep_desktop.sandbox.clinic.shared_patients import REGISTRY_ID, SharedPatients

REPORTED_RATE = 0.9  # share of the clinic's doses that reached the registry
FLU_RATE = 0.7
PNEUMOCOCCAL_RATE = 0.4  # 65 and over
ZOSTER_RATE = 0.3  # 50 and over
TDAP_RATE = 0.3


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _shot(remote: str, n: int, concept: codes.Concept, day: date, rng: random.Random) -> JSON:
    return {
        "resourceType": "Immunization",
        "id": f"imm-{remote}-{n}",
        "status": "completed",
        "vaccineCode": codes.concept_json(concept, rng),
        "patient": {"reference": f"Patient/{remote}"},
        "occurrenceDateTime": day.isoformat(),
        "primarySource": False,  # the registry reports what providers sent it
    }


def registry_shots(remote: str, born: date, reference: date, seed: int) -> list[JSON]:
    rng = random.Random(f"healthprep-registry/{seed}/{remote}")
    age = _age(born, reference)
    shots: list[JSON] = []
    season = date(reference.year if reference.month >= 8 else reference.year - 1, 9, 1)
    if rng.random() < FLU_RATE and season < reference:
        day = season + timedelta(days=rng.randrange(max(1, min(120, (reference - season).days))))
        shots.append(_shot(remote, 1, rng.choice(codes.INFLUENZA), day, rng))
    if age >= 65 and rng.random() < PNEUMOCOCCAL_RATE:
        day = reference - timedelta(days=rng.randrange(200, 2000))
        shots.append(_shot(remote, 2, codes.PCV20, day, rng))
    if age >= 50 and rng.random() < ZOSTER_RATE:
        day = reference - timedelta(days=rng.randrange(100, 1500))
        shots.append(_shot(remote, 3, codes.ZOSTER, day, rng))
    if age >= 18 and rng.random() < TDAP_RATE:
        day = reference - timedelta(days=rng.randrange(100, 3400))
        shots.append(_shot(remote, 4, codes.TDAP, day, rng))
    return shots


def clinic_reported_doses(clinic: SyntheticClinic, shared: SharedPatients) -> list[JSON]:
    """The clinic's completed doses as the registry holds them, for every patient it holds."""
    held = {p.clinic_id: p.remote_id for p in shared.truth if p.source_id == REGISTRY_ID}
    doses: list[JSON] = []
    for clinic_id, remote in sorted(held.items()):
        rng = random.Random(f"healthprep-registry/{clinic.seed}/{remote}/reported")
        for n, resource in enumerate(clinic.patient_resources(clinic_id)):
            if resource.get("resourceType") != "Immunization":
                continue
            if resource.get("status") != "completed" or rng.random() >= REPORTED_RATE:
                continue
            day = str(resource.get("occurrenceDateTime", ""))[:10]
            doses.append(
                {
                    "resourceType": "Immunization",
                    "id": f"imm-{remote}-r{n}",
                    "status": "completed",
                    "vaccineCode": resource["vaccineCode"],
                    "patient": {"reference": f"Patient/{remote}"},
                    "occurrenceDateTime": day,
                    "primarySource": False,
                    "reportOrigin": {"text": "Reported by the administering provider"},
                }
            )
    return doses


def with_registry_immunizations(
    shared: SharedPatients,
    reference: date,
    seed: int,
    reported: list[JSON] | None = None,
) -> SharedPatients:
    """`shared` with the registry's Immunization resources for every patient it holds (and the
    clinic-reported doses, `clinic_reported_doses`, when given)."""
    organizations = []
    for org in shared.organizations:
        if org.source_id != REGISTRY_ID:
            organizations.append(org)
            continue
        shots: list[JSON] = []
        for patient in org.patients:
            born = patient.get("birthDate")
            if isinstance(born, str) and len(born) >= 10:
                shots += registry_shots(
                    str(patient["id"]), date.fromisoformat(born[:10]), reference, seed
                )
        shots += reported or []
        organizations.append(dataclasses.replace(org, resources=(*org.resources, *shots)))
    return dataclasses.replace(shared, organizations=tuple(organizations))
