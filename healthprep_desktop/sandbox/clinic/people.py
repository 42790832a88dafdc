"""People and places of the synthetic clinic: patients' demographics, practitioners, locations.

All names, streets and phone numbers are invented (phone numbers use the 555-01xx range reserved
for fiction); any resemblance to a real person is chance.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from typing import Any

JSON = dict[str, Any]

MRN_SYSTEM = "https://sandbox.healthprep.example/fhir/sid/mrn"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
BIRTHSEX_URL = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
SEX_URL = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-sex"
SNOMED = "http://snomed.info/sct"
_SEX_CODING = {
    "female": {"system": SNOMED, "code": "248152002", "display": "Female (finding)"},
    "male": {"system": SNOMED, "code": "248153007", "display": "Male (finding)"},
}

# fmt: off
FEMALE_NAMES = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah",
    "Karen", "Lisa", "Nancy", "Betty", "Sandra", "Margaret", "Ashley", "Kimberly", "Emily",
    "Donna", "Michelle", "Carol", "Amanda", "Melissa", "Deborah", "Stephanie", "Dorothy",
    "Rebecca", "Sharon", "Laura", "Cynthia", "Amy", "Kathleen", "Angela", "Shirley", "Brenda",
    "Emma", "Anna", "Pamela", "Nicole", "Samantha", "Katherine", "Christine", "Helen", "Debra",
    "Rachel", "Carolyn", "Janet", "Maria", "Catherine", "Heather", "Diane", "Olivia", "Julie",
    "Joyce", "Victoria", "Ruth", "Virginia", "Lauren", "Kelly", "Christina", "Joan", "Evelyn",
    "Judith", "Andrea", "Hannah", "Megan", "Cheryl", "Jacqueline", "Martha", "Madison", "Teresa",
    "Gloria", "Sara", "Janice", "Ann", "Kathryn", "Abigail", "Sophia", "Frances", "Jean", "Alice",
    "Judy", "Isabella", "Julia", "Grace", "Amber", "Denise", "Danielle", "Marilyn", "Beverly",
    "Charlotte", "Natalie", "Theresa", "Diana", "Brittany", "Doris", "Kayla", "Alexis", "Lori",
    "Marie", "Rosa", "Guadalupe", "Mei", "Priya", "Aisha", "Fatima", "Yuki", "Ngozi", "Lucia",
    "Ines",
)
MALE_NAMES = (
    "James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas",
    "Christopher", "Charles", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Andrew",
    "Paul", "Joshua", "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald", "Jason",
    "Edward", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric", "Jonathan", "Stephen",
    "Larry", "Justin", "Scott", "Brandon", "Benjamin", "Samuel", "Gregory", "Alexander", "Patrick",
    "Frank", "Raymond", "Jack", "Dennis", "Jerry", "Tyler", "Aaron", "Jose", "Adam", "Nathan",
    "Henry", "Zachary", "Douglas", "Peter", "Kyle", "Noah", "Ethan", "Jeremy", "Walter",
    "Christian", "Keith", "Roger", "Terry", "Austin", "Sean", "Gerald", "Carl", "Harold", "Dylan",
    "Arthur", "Lawrence", "Jordan", "Jesse", "Bryan", "Billy", "Bruce", "Gabriel", "Joe", "Logan",
    "Alan", "Juan", "Albert", "Willie", "Elijah", "Wayne", "Randy", "Vincent", "Mason", "Roy",
    "Ralph", "Bobby", "Russell", "Luis", "Wei", "Raj", "Omar", "Hiroshi", "Chidi", "Mateo",
    "Tomas",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott",
    "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera",
    "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner", "Diaz",
    "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales", "Murphy",
    "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey", "Reed",
    "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks", "Chavez",
    "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez",
    "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez", "Powell",
    "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson", "Barnes",
    "Gonzales", "Fisher", "Vasquez", "Simmons", "Romero", "Jordan", "Patterson", "Alexander",
    "Hamilton", "Graham", "Okafor", "Tanaka", "Kowalski", "Novak", "O'Brien", "Schmidt", "Larsen",
    "Haddad", "Chen",
)
STREETS = (
    "Oak St", "Maple Ave", "Cedar Ln", "Elm St", "Pine Rd", "Washington Ave", "Lake Dr",
    "Hillcrest Rd", "Park Ave", "Main St", "River Rd", "Sunset Blvd", "Meadow Ln", "Church St",
    "Highland Ave", "Walnut St", "Chestnut Dr", "Willow Way", "Prairie View Rd", "Mill St",
    "Orchard Ln", "Spring St", "Forest Ave", "Jefferson St", "Lincoln Ave", "Birch Ct",
    "Sycamore Dr", "Franklin St", "Cherry Ln", "Ridge Rd",
)
# fmt: on
TOWNS = (
    ("Riverbend", "62701"),
    ("Millbrook", "62702"),
    ("Cedar Falls", "62704"),
    ("Lakeview", "62707"),
    ("Oak Hollow", "62711"),
    ("Fairview", "62712"),
)
STATE = "IL"
AREA_CODES = ("217", "309", "618")


@dataclass(frozen=True, slots=True)
class Person:
    """Demographics of one synthetic patient, before they become a Patient resource."""

    given: str
    middle: str
    family: str
    sex: str  # sex assigned at birth: "female" or "male"
    birth_date: date
    street: str
    town: str
    postal_code: str
    phone: str
    language: str


def make_person(rng: random.Random, sex: str, birth_date: date) -> Person:
    names = FEMALE_NAMES if sex == "female" else MALE_NAMES
    town, postal = TOWNS[rng.randrange(len(TOWNS))]
    return Person(
        given=names[rng.randrange(len(names))],
        middle=names[rng.randrange(len(names))][0],
        family=LAST_NAMES[rng.randrange(len(LAST_NAMES))],
        sex=sex,
        birth_date=birth_date,
        street=f"{rng.randint(10, 9899)} {STREETS[rng.randrange(len(STREETS))]}",
        town=town,
        postal_code=postal,
        phone=f"({AREA_CODES[rng.randrange(len(AREA_CODES))]}) 555-{rng.randint(100, 199):04d}",
        language="es" if rng.random() < 0.08 else "en",
    )


@dataclass(frozen=True, slots=True)
class SexRecording:
    """How a chart records sex: Patient.gender and which US Core extensions are present.

    The 2026 eCQM logic reads the us-core-sex extension as well as Patient.gender, and some
    charts carry gender 'unknown' or none at all with only an extension telling the sex.
    """

    gender: str | None  # Patient.gender, or None when absent
    birthsex: bool
    us_core_sex: bool


_LANGUAGES = {"en": "English", "es": "Spanish"}


def patient_json(
    pid: str,
    mrn: str,
    person: Person,
    recording: SexRecording,
    *,
    birth_date_known: bool,
    practitioner: str,
    organization: str,
) -> JSON:
    extensions: list[JSON] = []
    if recording.birthsex:
        extensions.append(
            {"url": BIRTHSEX_URL, "valueCode": "F" if person.sex == "female" else "M"}
        )
    if recording.us_core_sex:
        extensions.append({"url": SEX_URL, "valueCoding": dict(_SEX_CODING[person.sex])})
    patient: JSON = {"resourceType": "Patient", "id": pid}
    if extensions:
        patient["extension"] = extensions
    patient["identifier"] = [
        {
            "use": "usual",
            "type": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                        "code": "MR",
                        "display": "Medical record number",
                    }
                ],
                "text": "MRN",
            },
            "system": MRN_SYSTEM,
            "value": mrn,
        }
    ]
    patient["active"] = True
    patient["name"] = [
        {
            "use": "official",
            "text": f"{person.given} {person.middle}. {person.family}",
            "family": person.family,
            "given": [person.given, person.middle],
        }
    ]
    patient["telecom"] = [{"system": "phone", "value": person.phone, "use": "home"}]
    if recording.gender is not None:
        patient["gender"] = recording.gender
    if birth_date_known:
        patient["birthDate"] = person.birth_date.isoformat()
    patient["address"] = [
        {
            "use": "home",
            "line": [person.street],
            "city": person.town,
            "state": STATE,
            "postalCode": person.postal_code,
            "country": "US",
        }
    ]
    patient["communication"] = [
        {
            "language": {
                "coding": [
                    {
                        "system": "urn:ietf:bcp:47",
                        "code": person.language,
                        "display": _LANGUAGES[person.language],
                    }
                ]
            },
            "preferred": True,
        }
    ]
    patient["generalPractitioner"] = [{"reference": practitioner}]
    patient["managingOrganization"] = {"reference": organization}
    return patient


def npi(base: int) -> str:
    """A 10-digit NPI with a valid check digit (Luhn over the '80840' prefix plus 9 digits)."""
    body = f"{base % 1_000_000_000:09d}"
    if body[0] not in "12":
        body = "1" + body[1:]
    digits = [int(d) for d in "80840" + body]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:  # every second digit from the right of the full number
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return body + str((10 - total % 10) % 10)


@dataclass(frozen=True, slots=True)
class Clinician:
    id: str
    given: str
    family: str
    sex: str
    credential: str  # "MD", "DO", "NP"
    specialty: str
    npi: str
    location_index: int
    schedules: bool  # primary care practitioners are on the clinic schedule; specialists are not

    @property
    def display(self) -> str:
        prefix = "" if self.credential == "NP" else "Dr. "
        return f"{prefix}{self.given} {self.family}, {self.credential}"


SPECIALTIES = ("Gastroenterology", "Ophthalmology", "Cardiology", "Radiology", "Gynecology")


def make_clinicians(rng: random.Random, primary_care: int, locations: int) -> list[Clinician]:
    clinicians: list[Clinician] = []
    for index in range(primary_care + len(SPECIALTIES)):
        sex = "female" if rng.random() < 0.55 else "male"
        names = FEMALE_NAMES if sex == "female" else MALE_NAMES
        is_primary = index < primary_care
        clinicians.append(
            Clinician(
                id=f"prac-{index + 1:03d}"
                if is_primary
                else f"prac-spec-{index - primary_care + 1}",
                given=names[rng.randrange(len(names))],
                family=LAST_NAMES[rng.randrange(len(LAST_NAMES))],
                sex=sex,
                credential=("MD", "MD", "DO", "NP")[rng.randrange(4)] if is_primary else "MD",
                specialty="Family Medicine" if is_primary else SPECIALTIES[index - primary_care],
                npi=npi(rng.randrange(100_000_000, 300_000_000)),
                location_index=index % locations,
                schedules=is_primary,
            )
        )
    return clinicians


def practitioner_json(clinician: Clinician) -> JSON:
    return {
        "resourceType": "Practitioner",
        "id": clinician.id,
        "identifier": [{"system": NPI_SYSTEM, "value": clinician.npi}],
        "active": True,
        "name": [
            {
                "use": "official",
                "text": clinician.display,
                "family": clinician.family,
                "given": [clinician.given],
                "suffix": [clinician.credential],
            }
        ],
        "gender": clinician.sex,
        "qualification": [
            {
                "code": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0360",
                            "code": clinician.credential,
                        }
                    ],
                    "text": f"{clinician.credential}, {clinician.specialty}",
                }
            }
        ],
    }


ORGANIZATION_NAME = "Riverbend Family Medicine"
LOCATION_NAMES = ("Riverbend Main Clinic", "Northside Clinic", "Lakeview Family Clinic")


def organization_json(oid: str, seed: int) -> JSON:
    return {
        "resourceType": "Organization",
        "id": oid,
        "identifier": [{"system": NPI_SYSTEM, "value": npi(1_500_000_000 + seed)}],
        "active": True,
        "type": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                        "code": "prov",
                        "display": "Healthcare Provider",
                    }
                ]
            }
        ],
        "name": ORGANIZATION_NAME,
        "telecom": [{"system": "phone", "value": "(217) 555-0100", "use": "work"}],
        "address": [
            {"line": ["100 Main St"], "city": "Riverbend", "state": STATE, "postalCode": "62701"}
        ],
    }


def location_json(lid: str, index: int, organization: str) -> JSON:
    town, postal = TOWNS[index % len(TOWNS)]
    return {
        "resourceType": "Location",
        "id": lid,
        "status": "active",
        "name": LOCATION_NAMES[index % len(LOCATION_NAMES)],
        "mode": "instance",
        "type": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                        "code": "OF",
                        "display": "Outpatient facility",
                    }
                ]
            }
        ],
        "telecom": [{"system": "phone", "value": f"(217) 555-{101 + index:04d}", "use": "work"}],
        "address": {
            "line": [f"{100 + 250 * index} Main St"],
            "city": town,
            "state": STATE,
            "postalCode": postal,
        },
        "managingOrganization": {"reference": organization},
    }
