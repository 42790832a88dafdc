"""Measuring matching against known truth: a source search stand-in and the figures.

`SourceIndex` answers the Patient searches `matching.search_parameters` asks for (identifier,
birthdate, family+given, phone) the way a FHIR server would, so the benchmark and the tests see
the candidates the batch will see. `measure` runs matching for every clinic patient and counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from healthprep_desktop.sources.matching import (
    DEFAULT_THRESHOLDS,
    Thresholds,
    match_patient,
    search_parameters,
)
from healthprep_desktop.sources.model import JSON, Demographics, MatchCandidate, Outcome
from healthprep_desktop.sources.normalise import birth_date, demographics, fold, phone_digits


class SourceIndex:
    """One source's patients, searchable like a FHIR Patient endpoint (exact token matches)."""

    def __init__(self, patients: Iterable[JSON]) -> None:
        self.by_id: dict[str, Demographics] = {}
        self._keys: dict[tuple[str, str], set[str]] = defaultdict(set)
        for patient in patients:
            found = demographics(patient)
            self.by_id[found.patient_id] = found
            for system, value in found.identifiers:
                self._keys["identifier", f"{system}|{value}"].add(found.patient_id)
            parts = found.families | found.family_tokens | found.givens
            if found.birth_date is not None:
                born = found.birth_date.isoformat()
                self._keys["birthdate", born].add(found.patient_id)
            for phone in found.phones:
                self._keys["phone", phone].add(found.patient_id)
            for family in found.families | found.family_tokens:
                for given in found.givens:
                    self._keys["name", f"{family}|{given}"].add(found.patient_id)
            for part in parts:  # FHIR `name` matches any part of any name
                self._keys["name-part", part].add(found.patient_id)
                if found.sex:
                    self._keys["name+gender", f"{part}|{found.sex}"].add(found.patient_id)

    def search(self, params: dict[str, str]) -> set[str]:
        if "identifier" in params:
            return set(self._keys.get(("identifier", params["identifier"]), ()))
        if "phone" in params:
            number = phone_digits(params["phone"])
            return set(self._keys.get(("phone", number), ())) if number else set()
        if "birthdate" in params:
            day = birth_date(params["birthdate"])
            born = set(self._keys.get(("birthdate", day.isoformat()), ())) if day else set()
            if "name" in params:
                return born & self._keys.get(("name-part", fold(params["name"])), set())
            return born
        if set(params) == {"name"}:
            return set(self._keys.get(("name-part", fold(params["name"])), ()))
        if "gender" in params and "name" in params:
            key = f"{fold(params['name'])}|{params['gender']}"
            return set(self._keys.get(("name+gender", key), ()))
        key = f"{fold(params.get('family', ''))}|{fold(params.get('given', ''))}"
        return set(self._keys.get(("name", key), ()))

    def candidates(self, local: Demographics) -> list[Demographics]:
        ids: set[str] = set()
        for params in search_parameters(local):
            ids |= self.search(params)
        return [self.by_id[i] for i in sorted(ids)]


@dataclass(slots=True)
class Quality:
    truth_pairs: int = 0
    auto_links: int = 0
    correct_auto_links: int = 0
    false_auto_links: list[tuple[str, str]] = field(default_factory=list)  # (clinic, remote)
    confirmations: int = 0  # patients with at least one possible match to confirm
    true_pair_in_confirmation: int = 0
    missed: int = 0  # truth pairs neither auto-linked nor offered for confirmation
    candidates_scored: int = 0
    # The same, counting only clinic patients whose chart has a birth date (without one,
    # matching never auto-links by rule).
    dated_truth_pairs: int = 0
    dated_correct_auto_links: int = 0
    # Correct auto-links that needed a former address (one source kept the move's history).
    by_previous_address: int = 0

    @property
    def precision(self) -> float:
        return self.correct_auto_links / self.auto_links if self.auto_links else 1.0

    @property
    def recall(self) -> float:
        return self.correct_auto_links / self.truth_pairs if self.truth_pairs else 1.0

    @property
    def dated_recall(self) -> float:
        if not self.dated_truth_pairs:
            return 1.0
        return self.dated_correct_auto_links / self.dated_truth_pairs


def measure(
    clinic_patients: Sequence[JSON],
    source_id: str,
    source_patients: Iterable[JSON],
    truth: dict[str, str],  # clinic patient id -> remote id, for this source
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Quality:
    index = SourceIndex(source_patients)
    quality = Quality(truth_pairs=len(truth))
    for patient in clinic_patients:
        local = demographics(patient)
        pool = index.candidates(local)
        quality.candidates_scored += len(pool)
        found: list[MatchCandidate] = match_patient(local, pool, source_id, thresholds=thresholds)
        expected = truth.get(local.patient_id)
        autos = [c for c in found if c.outcome == Outcome.AUTO_LINK]
        confirm = [c for c in found if c.outcome == Outcome.CONFIRM]
        dated = local.birth_date is not None
        quality.dated_truth_pairs += dated and expected is not None
        for auto in autos:
            quality.auto_links += 1
            if auto.remote_id == expected:
                quality.correct_auto_links += 1
                quality.dated_correct_auto_links += dated
                quality.by_previous_address += any(
                    f.field == "previous_address" and f.weight > 0 for f in auto.fields
                ) and not any(f.field == "postal_code" and f.weight > 0 for f in auto.fields)
            else:
                quality.false_auto_links.append((local.patient_id, auto.remote_id))
        if confirm:
            quality.confirmations += 1
            if any(c.remote_id == expected for c in confirm):
                quality.true_pair_in_confirmation += 1
        if expected is not None and not any(c.remote_id == expected for c in found):
            quality.missed += 1
    return quality
