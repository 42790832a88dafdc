"""Normalising demographics before comparison: names, nicknames, phones, postal codes, dates.

Names are folded (Unicode NFKD with combining marks dropped, case-folded, letters only), so
"José O'Brien", "JOSE OBRIEN" and "Jose O Brien" compare equal. Hyphenated and multi-word family
names also yield their parts, so "Garcia-Lopez" can match "Garcia" (at a lower weight than a
whole-name match).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from healthprep_desktop.sources.addresses import is_former, postal, split_addresses
from healthprep_desktop.sources.model import JSON, Demographics, PersonSummary

_BIRTHSEX_URL = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
_NAME_SPLIT = re.compile(r"[\s\-]+")
_FULL_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")

# Common English given-name variants. Deliberately small: each group is a set of names that
# people really use for one another; a name may sit in two groups ("sam": Samuel, Samantha).
# A nickname agreement weighs as much as an exact one (see matching.WEIGHTS "given"/alias).
# fmt: off
NICKNAME_GROUPS: tuple[frozenset[str], ...] = tuple(frozenset(g) for g in (
    ("william", "bill", "billy", "will", "willie", "liam"),
    ("robert", "bob", "bobby", "rob", "robbie", "bert"),
    ("richard", "rick", "ricky", "rich", "dick"),
    ("james", "jim", "jimmy", "jamie"),
    ("john", "jack", "johnny", "jon"),
    ("jonathan", "jon", "jonny"),
    ("joseph", "joe", "joey"),
    ("thomas", "tom", "tommy"),
    ("michael", "mike", "mikey", "mick"),
    ("christopher", "chris", "kit"),
    ("christine", "chris", "christina", "tina"),
    ("daniel", "dan", "danny"),
    ("anthony", "tony"),
    ("andrew", "andy", "drew"),
    ("steven", "steve", "stevie"),
    ("stephen", "steve", "stevie"),
    ("edward", "ed", "eddie", "ted", "ned"),
    ("charles", "charlie", "chuck", "chas"),
    ("samuel", "sam", "sammy"),
    ("samantha", "sam", "sammy"),
    ("benjamin", "ben", "benny"),
    ("nicholas", "nick", "nicky"),
    ("matthew", "matt", "matty"),
    ("timothy", "tim", "timmy"),
    ("kenneth", "ken", "kenny"),
    ("gregory", "greg"),
    ("lawrence", "larry"),
    ("gerald", "gerry", "jerry"),
    ("harold", "harry", "hal"),
    ("henry", "harry", "hank"),
    ("raymond", "ray"),
    ("ronald", "ron", "ronnie"),
    ("donald", "don", "donnie"),
    ("alexander", "alex", "xander", "sandy"),
    ("alexis", "alex", "lexi"),
    ("elizabeth", "liz", "lizzie", "beth", "betty", "eliza", "libby"),
    ("margaret", "maggie", "meg", "peggy", "marge"),
    ("katherine", "kate", "kathy", "katie", "kat"),
    ("catherine", "cathy", "kate", "katie", "cat"),
    ("kathleen", "kathy", "kate"),
    ("jennifer", "jen", "jenny"),
    ("patricia", "pat", "patty", "trish", "tricia"),
    ("susan", "sue", "susie", "suzy"),
    ("deborah", "deb", "debbie"),
    ("debra", "deb", "debbie"),
    ("rebecca", "becky", "becca"),
    ("dorothy", "dot", "dottie"),
    ("pamela", "pam"),
    ("cynthia", "cindy"),
    ("kimberly", "kim"),
    ("victoria", "vicky", "tori"),
    ("abigail", "abby"),
    ("judith", "judy"),
    ("theresa", "teresa", "terri", "tess"),
    ("frances", "fran", "frankie"),
    ("francis", "frank", "frankie"),
    ("barbara", "barb", "babs"),
    ("jacqueline", "jackie"),
    ("madison", "maddie"),
    ("nathan", "nate"),
    ("zachary", "zach", "zack"),
    ("joshua", "josh"),
    ("jeffrey", "jeff"),
    ("douglas", "doug"),
    ("walter", "walt"),
    ("russell", "russ"),
    ("albert", "al", "bert"),
    ("alan", "al"),
    ("gabriel", "gabe"),
    ("patrick", "pat", "paddy"),
))
# fmt: on
_NICKNAMES: dict[str, frozenset[int]] = {}
for _index, _group in enumerate(NICKNAME_GROUPS):
    for _name in _group:
        _NICKNAMES[_name] = _NICKNAMES.get(_name, frozenset()) | {_index}


def fold(text: str) -> str:
    """Letters only, accents dropped, case-folded: "O'Brien-Núñez" -> "obriennunez"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed.casefold() if c.isalpha() and c.isascii())


def name_parts(text: str) -> list[str]:
    """Folded parts of a name split on spaces and hyphens ("Garcia-Lopez" -> garcia, lopez)."""
    return [p for p in (fold(part) for part in _NAME_SPLIT.split(text)) if p]


def are_nicknames(a: str, b: str) -> bool:
    """True when two folded given names are variants of one another (Bill/William)."""
    return bool(_NICKNAMES.get(a, frozenset()) & _NICKNAMES.get(b, frozenset()))


def phone_digits(text: str) -> str | None:
    """A North American number as its 10 digits; other numbers as all their digits (>= 7)."""
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits if len(digits) >= 7 else None


def birth_date(text: object) -> date | None:
    """Only a full YYYY-MM-DD date compares; partial dates ("1970", "1970-05") are unknown."""
    if not isinstance(text, str):
        return None
    found = _FULL_DATE.match(text.strip())
    if found is None:
        return None
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        return None


def _sex(patient: JSON) -> str | None:
    gender = patient.get("gender")
    if gender in ("female", "male"):
        return str(gender)
    for extension in _dicts(patient.get("extension")):
        if extension.get("url") == _BIRTHSEX_URL:
            return {"F": "female", "M": "male"}.get(str(extension.get("valueCode")))
    return None


def _dicts(value: Any) -> list[JSON]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# Name uses tried first for the "primary" name; old/maiden names only widen the family set.
_NAME_ORDER = {"official": 0, "usual": 1, None: 2, "nickname": 3, "maiden": 4, "old": 5}


def demographics(patient: JSON) -> Demographics:
    """Reduce a Patient resource to normalised demographics (tolerant of missing parts)."""
    names = sorted(_dicts(patient.get("name")), key=lambda n: _NAME_ORDER.get(n.get("use"), 2))
    families: set[str] = set()
    tokens: set[str] = set()
    givens: set[str] = set()
    primary_family = ""
    given = ""
    middle: str | None = None
    raw_family = raw_given = ""
    for name in names:
        family_text = name.get("family")
        if isinstance(family_text, str) and fold(family_text):
            families.add(fold(family_text))
            tokens.update(name_parts(family_text))
            if not primary_family:
                primary_family, raw_family = fold(family_text), family_text.strip()
        given_list = [g for g in name.get("given") or [] if isinstance(g, str) and fold(g)]
        if given_list:
            parts = name_parts(" ".join(given_list))
            givens.add(parts[0])
            if not given:
                given, raw_given = parts[0], given_list[0].strip().split()[0]
                middle = parts[1][0] if len(parts) > 1 else None
    phones = {
        number
        for telecom in _dicts(patient.get("telecom"))
        if telecom.get("system") == "phone" and isinstance(telecom.get("value"), str)
        for number in [phone_digits(telecom["value"])]
        if number
    }
    postal_code = None
    every_address = _dicts(patient.get("address"))
    addresses = sorted(
        (a for a in every_address if not is_former(a)), key=lambda a: a.get("use") != "home"
    )
    for address in addresses:
        if isinstance(address.get("postalCode"), str):
            postal_code = postal(address["postalCode"])
            if postal_code:
                break
    current_addresses, former_addresses = split_addresses(every_address)
    identifiers = {
        (str(i["system"]).strip(), str(i["value"]).strip())
        for i in _dicts(patient.get("identifier"))
        if i.get("system") and i.get("value")
    }
    return Demographics(
        patient_id=str(patient.get("id", "")),
        families=frozenset(families),
        family_tokens=frozenset(tokens),
        primary_family=primary_family,
        given=given,
        givens=frozenset(givens),
        middle_initial=middle,
        birth_date=birth_date(patient.get("birthDate")),
        sex=_sex(patient),
        postal_code=postal_code,
        phones=frozenset(phones),
        identifiers=frozenset(identifiers),
        addresses=current_addresses,
        former_addresses=former_addresses,
        family_text=raw_family,
        given_text=raw_given,
    )


def _phone_text(digits: str) -> str:
    if len(digits) == 10:
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return digits


def summarise(person: Demographics) -> PersonSummary:
    """The record as a coordinator compares it ("Ngozi A. Okafor (also Adams)", ...)."""
    middle = f" {person.middle_initial.upper()}." if person.middle_initial else ""
    name = f"{person.given_text}{middle} {person.family_text}".strip()
    others = sorted(person.families - {person.primary_family})
    if others:
        name += f" (also {', '.join(o.title() for o in others)})"
    # The lines are kept normalised for comparison ("12 oak st"); title case reads better.
    places = [f"{line.title()}, {code}" for line, code in sorted(person.addresses)]
    if not places and person.postal_code:
        places = [person.postal_code]
    places += [f"formerly {line.title()}, {code}" for line, code in sorted(person.former_addresses)]
    return PersonSummary(
        name=name,
        birth_date=person.birth_date.isoformat() if person.birth_date else "",
        sex=person.sex or "",
        address="; ".join(places),
        phone=", ".join(_phone_text(p) for p in sorted(person.phones)),
        identifiers=", ".join(
            f"{system.rstrip('/').rsplit('/', 1)[-1]} {value}"
            for system, value in sorted(person.identifiers)
        ),
    )
