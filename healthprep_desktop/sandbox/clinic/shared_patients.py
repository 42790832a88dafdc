"""Patients the demo clinic shares with a hospital and an immunization registry, with truth.

From a SyntheticClinic's patients this derives each other organization's copy under its own ids
and identifier system, with the perturbations real record linkage meets: typos, accents and
upper case, nicknames, married-name changes (former name kept, hyphenated, or lost), missing or
changed phones, moves, ZIP+4, missing gender, a transposed birth day/month at a small rate, and
patients absent from a source. Each source also holds DIFFERENT people who look alike (twins,
same name with another birth date, a same-named parent at the same address, same name and birth
date elsewhere) and a background population. `truth` says which remote id is which clinic
patient, so matching precision and recall can be measured (bench/matching.py).

Deterministic: the same clinic and seed give the same copies on every machine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta

from healthprep_desktop.sandbox.clinic import codes, people
from healthprep_desktop.sandbox.clinic.clinic import SyntheticClinic
from healthprep_desktop.sandbox.clinic.people import JSON, Person, SexRecording
from healthprep_desktop.sandbox.clinic.scenarios import Archetype

HOSPITAL_ID = "stmarys"
HOSPITAL_NAME = "St Mary's Hospital"
HOSPITAL_MRN_SYSTEM = "https://stmarys.example/fhir/sid/mrn"
REGISTRY_ID = "iis"
REGISTRY_NAME = "State Immunization Registry"
REGISTRY_ID_SYSTEM = "https://iis.state.example/fhir/sid/iis-id"


@dataclass(frozen=True, slots=True)
class Perturbation:
    """Rates (0..1) at which one organization's copy differs from the clinic's."""

    present: float
    clinic_mrn_kept: float  # copy carries the clinic's MRN (same system): identifier match
    family_typo: float
    given_typo: float
    nickname: float
    accents: float
    upper_case: float
    married: float  # adult women only
    phone_missing: float
    phone_changed: float
    moved: float
    gender_missing: float
    birth_transposed: float
    middle_dropped: float
    # After a move, the former address is kept as Patient.address use "old" (US Core 6
    # "previous address"; Epic's address change history; a registry keeps each address a
    # provider sent it).
    previous_address_kept: float = 0.5


HOSPITAL = Perturbation(
    present=0.55,
    clinic_mrn_kept=0.2,
    family_typo=0.03,
    given_typo=0.03,
    nickname=0.05,
    accents=0.5,
    upper_case=0.1,
    married=0.05,
    phone_missing=0.15,
    phone_changed=0.08,
    moved=0.05,
    gender_missing=0.03,
    birth_transposed=0.015,
    middle_dropped=0.4,
)
REGISTRY = Perturbation(
    present=0.65,
    clinic_mrn_kept=0.0,
    family_typo=0.02,
    given_typo=0.02,
    nickname=0.02,
    accents=0.0,
    upper_case=0.5,
    married=0.03,
    phone_missing=0.35,
    phone_changed=0.1,
    moved=0.05,
    gender_missing=0.05,
    birth_transposed=0.01,
    middle_dropped=0.8,
)
# Look-alike decoys per clinic patient (different people): rates per source.
TWIN_RATE = 0.02
SAME_NAME_OTHER_BIRTH_RATE = 0.02
SAME_NAME_PARENT_RATE = 0.01  # same name, same address and phone, born ~25-35 years earlier
SAME_NAME_SAME_BIRTH_RATE = 0.005  # the "John Smith, same birthday, other town" case
BACKGROUND_PER_PATIENT = 1.0  # unrelated patients of the source per clinic patient

_NICKNAMES = {
    "William": "Bill", "Robert": "Bob", "Elizabeth": "Liz", "Margaret": "Peggy",
    "James": "Jim", "Michael": "Mike", "Jennifer": "Jenny", "Patricia": "Pat",
    "Katherine": "Kate", "Thomas": "Tom", "Joseph": "Joe", "Richard": "Rick",
    "Christopher": "Chris", "Daniel": "Dan", "Susan": "Sue", "Deborah": "Debbie",
    "Rebecca": "Becky", "Anthony": "Tony", "Steven": "Steve", "Edward": "Ed",
    "Charles": "Charlie", "Samuel": "Sam", "Benjamin": "Ben", "Nicholas": "Nick",
    "Matthew": "Matt", "Kenneth": "Ken", "Dorothy": "Dot", "Pamela": "Pam",
    "Cynthia": "Cindy", "Kimberly": "Kim", "Timothy": "Tim", "Andrew": "Andy",
}  # fmt: skip
_ACCENTED = {
    "Jose": "José", "Ines": "Inés", "Tomas": "Tomás", "Lucia": "Lucía", "Maria": "María",
    "Ramirez": "Ramírez", "Hernandez": "Hernández", "Gonzalez": "González", "Perez": "Pérez",
    "Martinez": "Martínez", "Lopez": "López", "Gomez": "Gómez", "Alvarez": "Álvarez",
    "Jimenez": "Jiménez", "Diaz": "Díaz", "Rodriguez": "Rodríguez", "Sanchez": "Sánchez",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class TruthPair:
    source_id: str
    clinic_id: str
    remote_id: str


@dataclass(frozen=True, slots=True)
class SharedOrganization:
    source_id: str
    name: str
    patients: tuple[JSON, ...]  # Patient resources as that organization serves them
    resources: tuple[JSON, ...] = ()  # clinical resources it holds about them


@dataclass(frozen=True, slots=True)
class SharedPatients:
    clinic_patients: tuple[JSON, ...]  # the clinic's Patient resources (as it serves them)
    organizations: tuple[SharedOrganization, ...]
    truth: frozenset[TruthPair]  # every (source, clinic patient, remote id) that is one person
    lookalikes: frozenset[TruthPair]  # decoys built to resemble a clinic patient: never links
    # Clinic patients "due" for colorectal screening at the clinic whose colonoscopy was done at
    # the hospital: merged, they are Complete with the hospital as the source.
    hospital_colonoscopies: frozenset[str] = frozenset()


def _typo(rng: random.Random, word: str) -> str:
    """One keyboard slip after the first letter: swap, drop, double or replace."""
    if len(word) < 3:
        return word + word[-1]
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0 and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    other = "aeiou".replace(word[i].lower(), "")[rng.randrange(4)] if word[i] in "aeiou" else "r"
    return word[:i] + other + word[i + 1 :]


def _phone(rng: random.Random) -> str:
    area = people.AREA_CODES[rng.randrange(len(people.AREA_CODES))]
    return f"({area}) 555-{rng.randint(100, 199):04d}"


def _phone_format(rng: random.Random, phone: str) -> str:
    digits = "".join(c for c in phone if c.isdigit())
    style = rng.randrange(3)
    if style == 0:
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    if style == 1:
        return f"+1 {digits[:3]} {digits[3:6]} {digits[6:]}"
    return phone


def _moved(rng: random.Random, person: Person) -> Person:
    towns = [t for t in people.TOWNS if t[1] != person.postal_code]
    town, postal = towns[rng.randrange(len(towns))]
    street = people.STREETS[rng.randrange(len(people.STREETS))]
    return replace(
        person, town=town, postal_code=postal, street=f"{rng.randint(10, 9899)} {street}"
    )


def _patient(
    pid: str,
    identifiers: list[JSON],
    person: Person,
    gender: str | None,
    *,
    names: list[JSON] | None = None,
    phone: str | None = None,
    postal: str | None = None,
    birth: date | None = None,
    former: Person | None = None,
) -> JSON:
    resource: JSON = {"resourceType": "Patient", "id": pid, "identifier": identifiers}
    resource["name"] = names or [
        {"use": "official", "family": person.family, "given": [person.given, person.middle]}
    ]
    if phone:
        resource["telecom"] = [{"system": "phone", "value": phone, "use": "home"}]
    if gender:
        resource["gender"] = gender
    resource["birthDate"] = (birth or person.birth_date).isoformat()
    resource["address"] = [
        {
            "use": "home",
            "line": [person.street],
            "city": person.town,
            "state": people.STATE,
            "postalCode": postal or person.postal_code,
        }
    ]
    if former is not None:
        resource["address"].append(
            {
                "use": "old",
                "line": [former.street],
                "city": former.town,
                "state": people.STATE,
                "postalCode": former.postal_code,
                "period": {"end": "2024-06-30"},
            }
        )
    return resource


class _Source:
    """Builds one organization's Patient list."""

    def __init__(self, source_id: str, id_system: str, rates: Perturbation, seed: int) -> None:
        self.source_id = source_id
        self.id_system = id_system
        self.rates = rates
        self.seed = seed
        self.patients: list[JSON] = []
        self.resources: list[JSON] = []
        self._numbers = random.Random(f"healthprep-shared/{seed}/{source_id}/ids")
        self._used: set[int] = set()

    def new_id(self) -> tuple[str, JSON]:
        # Ids in no relation to the clinic's order, like a real other organization's.
        while True:
            number = self._numbers.randrange(100_000, 999_999)
            if number not in self._used:
                self._used.add(number)
                break
        identifier = {"system": self.id_system, "value": f"{self.source_id[:2].upper()}{number}"}
        return f"{self.source_id}-{number}", identifier

    def copy(self, rng: random.Random, person: Person, gender: str | None, mrn: str) -> str:
        r = self.rates
        pid, identifier = self.new_id()
        identifiers = [identifier]
        if rng.random() < r.clinic_mrn_kept:
            identifiers.append({"system": people.MRN_SYSTEM, "value": mrn})
        given, family, middle = person.given, person.family, person.middle
        if rng.random() < r.nickname and given in _NICKNAMES:
            given = _NICKNAMES[given]
        if rng.random() < r.given_typo:
            given = _typo(rng, given)
        if rng.random() < r.family_typo:
            family = _typo(rng, family)
        if rng.random() < r.accents:
            given, family = _ACCENTED.get(given, given), _ACCENTED.get(family, family)
        if rng.random() < r.upper_case:
            given, family, middle = given.upper(), family.upper(), middle.upper()
        given_list = [given] if rng.random() < r.middle_dropped else [given, middle]
        names: list[JSON] = [{"use": "official", "family": family, "given": given_list}]
        adult_woman = person.sex == "female" and person.birth_date.year <= 2004
        if adult_woman and rng.random() < r.married:
            new = people.LAST_NAMES[rng.randrange(len(people.LAST_NAMES))]
            way = rng.random()
            if way < 0.5:  # new name official, the former one kept as "old"
                names = [
                    {"use": "official", "family": new, "given": given_list},
                    {"use": "old", "family": family, "given": given_list},
                ]
            elif way < 0.75:
                names = [{"use": "official", "family": f"{family}-{new}", "given": given_list}]
            else:  # the former name is lost: only a person can link this one
                names = [{"use": "official", "family": new, "given": given_list}]
        former: Person | None = None
        if rng.random() < r.moved:
            former, person = person, _moved(rng, person)
            if rng.random() >= r.previous_address_kept:
                former = None
        phone: str | None = _phone_format(rng, person.phone)
        if rng.random() < r.phone_changed:
            phone = _phone(rng)
        if rng.random() < r.phone_missing:
            phone = None
        birth = person.birth_date
        if rng.random() < r.birth_transposed and birth.day <= 12 and birth.day != birth.month:
            birth = birth.replace(month=birth.day, day=birth.month)
        postal = person.postal_code + (f"-{rng.randint(1000, 9999)}" if rng.random() < 0.3 else "")
        if rng.random() < r.gender_missing:
            gender = None
        self.patients.append(
            _patient(
                pid,
                identifiers,
                person,
                gender,
                names=names,
                phone=phone,
                postal=postal,
                birth=birth,
                former=former,
            )
        )
        return pid

    def decoy(
        self, person: Person, *, phone: str | None = None, former: Person | None = None
    ) -> str:
        pid, identifier = self.new_id()
        self.patients.append(
            _patient(pid, [identifier], person, person.sex, phone=phone, former=former)
        )
        return pid


def _years_earlier(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _decoys(rng: random.Random, src: _Source, person: Person) -> list[str]:
    made: list[str] = []
    if rng.random() < TWIN_RATE:
        sex = "female" if rng.random() < 0.5 else "male"
        names = people.FEMALE_NAMES if sex == "female" else people.MALE_NAMES
        given = next(
            n for n in (names[rng.randrange(len(names))] for _ in range(50)) if n != person.given
        )
        twin = replace(person, given=given, sex=sex)
        made.append(src.decoy(twin, phone=person.phone))
    if rng.random() < SAME_NAME_OTHER_BIRTH_RATE:
        other = people.make_person(rng, person.sex, person.birth_date)
        born = person.birth_date + timedelta(days=rng.choice((-1, 1)) * rng.randint(200, 9000))
        alike = replace(other, given=person.given, family=person.family, birth_date=born)
        made.append(src.decoy(alike, phone=alike.phone))
    if rng.random() < SAME_NAME_PARENT_RATE:
        parent = replace(person, birth_date=_years_earlier(person.birth_date, rng.randint(25, 35)))
        made.append(src.decoy(parent, phone=person.phone))
    if rng.random() < SAME_NAME_SAME_BIRTH_RATE:
        other = people.make_person(rng, person.sex, person.birth_date)
        other = replace(other, given=person.given, family=person.family)
        moved = _moved(rng, other)  # keeps the history as often as the source's real copies do
        kept = rng.random() < src.rates.previous_address_kept
        made.append(src.decoy(moved, phone=_phone(rng), former=other if kept else None))
    return made


def clinic_people(clinic: SyntheticClinic) -> list[tuple[str, str, Person, SexRecording]]:
    """(patient id, MRN, demographics, sex recording) of each clinic patient, in clinic order."""
    # The clinic keeps these in its plans; writing each chart just to read its Patient would
    # cost ~12 ms a patient.
    return [(p.plan.id, p.mrn, p.person, p.recording) for p in clinic._patients]


def clinic_patient(clinic: SyntheticClinic, patient_id: str) -> JSON:
    """The clinic's Patient resource as it serves it (without writing the chart)."""
    found = clinic._by_id[patient_id]
    return people.patient_json(
        patient_id,
        found.mrn,
        found.person,
        found.recording,
        birth_date_known=found.plan.archetype != Archetype.NO_BIRTH_DATE,
        practitioner=f"Practitioner/{clinic.practitioner_ids()[found.plan.practitioner]}",
        organization=clinic.organization_reference,
    )


def shared_patients(clinic: SyntheticClinic, seed: int | None = None) -> SharedPatients:
    """The hospital's and the registry's copies of the clinic's patients, with known truth."""
    seed = clinic.seed if seed is None else seed
    sources = (
        (_Source(HOSPITAL_ID, HOSPITAL_MRN_SYSTEM, HOSPITAL, seed), HOSPITAL_NAME),
        (_Source(REGISTRY_ID, REGISTRY_ID_SYSTEM, REGISTRY, seed), REGISTRY_NAME),
    )
    truth: set[TruthPair] = set()
    lookalikes: set[TruthPair] = set()
    everyone = clinic_people(clinic)
    for index, (pid, mrn, person, recording) in enumerate(everyone):
        for src, _name in sources:
            rng = random.Random(f"healthprep-shared/{seed}/{src.source_id}/{index}")
            if rng.random() < src.rates.present:
                remote = src.copy(rng, person, recording.gender, mrn)
                truth.add(TruthPair(src.source_id, pid, remote))
            for decoy in _decoys(rng, src, person):
                lookalikes.add(TruthPair(src.source_id, pid, decoy))
    hospital = sources[0][0]
    outside = _hospital_colonoscopies(clinic, hospital, truth)
    for src, _name in sources:
        rng = random.Random(f"healthprep-shared/{seed}/{src.source_id}/background")
        for _ in range(round(len(everyone) * BACKGROUND_PER_PATIENT)):
            sex = "female" if rng.random() < 0.5 else "male"
            born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 80))
            stranger = people.make_person(rng, sex, born)
            src.decoy(stranger, phone=stranger.phone if rng.random() < 0.8 else None)
    for src, _name in sources:
        random.Random(f"healthprep-shared/{seed}/{src.source_id}/order").shuffle(src.patients)
    return SharedPatients(
        clinic_patients=tuple(clinic_patient(clinic, pid) for pid, *_ in everyone),
        organizations=tuple(
            SharedOrganization(src.source_id, name, tuple(src.patients), tuple(src.resources))
            for src, name in sources
        ),
        truth=frozenset(truth),
        lookalikes=frozenset(lookalikes),
        hospital_colonoscopies=frozenset(outside),
    )


def _hospital_colonoscopies(
    clinic: SyntheticClinic, hospital: _Source, truth: set[TruthPair]
) -> list[str]:
    """Every other clinic patient who never had colorectal screening at the clinic had a
    colonoscopy at the hospital two years before the reference date."""
    rng = random.Random(f"healthprep-shared/{hospital.seed}/{hospital.source_id}/charts")
    remote_of = {p.clinic_id: p.remote_id for p in truth if p.source_id == hospital.source_id}
    done: list[str] = []
    for pid in clinic.patient_ids():
        remote = remote_of.get(pid)
        if remote is None or clinic.expected_profile(pid).get("colorectal") != "due_never":
            continue
        if rng.random() < 0.5:
            continue
        when = _years_earlier(clinic.reference_date, 2)
        hospital.resources.append(
            {
                "resourceType": "Procedure",
                "id": f"proc-{remote}-1",
                "status": "completed",
                "code": codes.concept_json(codes.COLONOSCOPY[0], rng),
                "subject": {"reference": f"Patient/{remote}"},
                "performedDateTime": f"{when.isoformat()}T09:30:00-06:00",
            }
        )
        done.append(pid)
    return done


class SharedOrganizationSource:
    """A `ClinicSource` (sandbox/config.py) serving one shared organization: its Patients and
    clinical resources, no schedule (only the clinic books the visits)."""

    def __init__(self, organization: SharedOrganization) -> None:
        self.organization = organization

    def resources(self) -> list[JSON]:
        return [*self.organization.patients, *self.organization.resources]

    def schedule(self, day: date) -> list[JSON]:
        return []
