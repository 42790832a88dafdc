"""Street addresses for matching: the current ones and the former ones (US Core "previous
address": Patient.address with use "old" or a past period.end).

A person who moved is the hard case for demographic matching: the other source holds the new
address and maybe no phone, which leaves name, birth date and sex, exactly what a different
person of the same name and birthday elsewhere also has. Many sources keep the address history
(US Core 6 makes previous addresses Must Support; Epic keeps an address change history; an
immunization registry keeps each address a provider sent it), and a former address equal to the
clinic's current one, street and ZIP, tells the two apart.

An address compares as (street line, 5-digit ZIP), the line folded and with the usual USPS
suffixes shortened, so "12 Oak Street" and "12 OAK ST." are the same place.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

JSON = dict[str, Any]
Address = tuple[str, str]  # (normalised first line, 5-digit ZIP or compact postal code)

# USPS Publication 28 suffixes and directionals people actually vary.
_ABBREVIATIONS = {
    "street": "st", "avenue": "ave", "road": "rd", "drive": "dr", "lane": "ln",
    "court": "ct", "boulevard": "blvd", "place": "pl", "terrace": "ter", "circle": "cir",
    "parkway": "pkwy", "highway": "hwy", "square": "sq", "trail": "trl", "way": "way",
    "north": "n", "south": "s", "east": "e", "west": "w", "apartment": "apt", "suite": "ste",
}  # fmt: skip
_WORD = re.compile(r"[a-z0-9]+")


def street_line(text: str) -> str:
    """ "12 Oak Street, Apt. 4" -> "12 oak st apt 4"."""
    decomposed = unicodedata.normalize("NFKD", text).casefold()
    ascii_only = "".join(c for c in decomposed if c.isascii())
    return " ".join(_ABBREVIATIONS.get(w, w) for w in _WORD.findall(ascii_only))


def postal(text: str) -> str | None:
    """US ZIP as its 5 digits (ZIP+4 dropped); other codes upper-case without spaces."""
    compact = "".join(c for c in text.upper() if c.isalnum())
    if not compact:
        return None
    if compact.isdigit() and len(compact) in (5, 9):
        return compact[:5]
    return compact


def _ended(address: JSON, today: date) -> bool:
    period = address.get("period")
    end = period.get("end") if isinstance(period, dict) else None
    if not isinstance(end, str) or len(end) < 10:
        return False
    try:
        return date.fromisoformat(end[:10]) < today
    except ValueError:
        return False


def address_key(address: JSON) -> Address | None:
    lines = address.get("line")
    first = lines[0] if isinstance(lines, list) and lines and isinstance(lines[0], str) else ""
    code = address.get("postalCode")
    line = street_line(first)
    zip_code = postal(code) if isinstance(code, str) else None
    if not line or not zip_code:
        return None
    return line, zip_code


def is_former(address: JSON, today: date | None = None) -> bool:
    """Use "old", or a period that has ended."""
    return address.get("use") == "old" or _ended(address, today or date.today())


def split_addresses(
    addresses: list[JSON], today: date | None = None
) -> tuple[frozenset[Address], frozenset[Address]]:
    """(current, former) addresses of a Patient, each as (street line, ZIP)."""
    current: set[Address] = set()
    former: set[Address] = set()
    for address in addresses:
        key = address_key(address)
        if key is not None:
            (former if is_former(address, today) else current).add(key)
    return frozenset(current), frozenset(former - current)
