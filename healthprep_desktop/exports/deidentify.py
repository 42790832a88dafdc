"""HIPAA Safe Harbor de-identification (45 CFR 164.514(b)(2)) of exported result rows.

What happens to each of the 18 identifiers is listed in ``SAFE_HARBOR`` and written, with the
counts, beside every de-identified export (``deidentification.json``).

Choices, and why:
- Patient ids and MRNs become a keyed hash: HMAC-SHA256 under a random per-clinic secret made
  once and kept only in the encrypted store (tenant setting ``_deidentify_key``, never printed
  or exported). The same patient gets the same key in every export of the clinic, so exports
  can be joined, while without the secret nobody can recompute it from an id
  (164.514(c): a re-identification code not derivable by the recipient).
- Dates are reduced to the year, not shifted. Safe Harbor removes "all elements of dates
  (except year)"; a shifted date is still a day-precise date, which the rule does not allow
  (HHS guidance treats shifting as expert determination), and a year is what population
  analytics need ("done in 2024", "due in 2027").
- Ages over 89 become "90+" and the birth date goes entirely (its year alone would reveal an
  age over 89).
- ZIP codes keep three digits, except the three-digit zones of 20,000 people or fewer (Census
  2000 list, the one HHS names), which become "000".
- Free text goes: the reason (it may quote a note), flags (they quote values and dates) become
  a count, names and phone numbers are not exported at all.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from healthprep_desktop.exports.columns import Row
from healthprep_desktop.store import TenantScope

KEY_SETTING = "_deidentify_key"  # "_" keeps it out of settings upgrades and listings
AGE_CAP = 89
# Three-digit ZIP prefixes whose population is 20,000 or fewer (Census 2000), per HHS guidance.
RESTRICTED_ZIP3 = frozenset(
    {
        "036", "059", "063", "102", "203", "556", "692", "790", "821",
        "823", "830", "831", "878", "879", "884", "890", "893",
    }
)  # fmt: skip

# The 18 Safe Harbor identifiers, 164.514(b)(2)(i)(A)-(R), and what this export does.
SAFE_HARBOR: dict[str, str] = {
    "A names": "not exported",
    "B geographic subdivisions smaller than a state": (
        "street, city and county not exported; ZIP code cut to its first three digits, '000' "
        "for the three-digit zones of 20,000 people or fewer"
    ),
    "C dates (except year) and ages over 89": (
        "every date reduced to its year; birth date not exported; ages over 89 shown as '90+'"
    ),
    "D telephone numbers": "not exported",
    "E fax numbers": "not exported",
    "F email addresses": "not exported",
    "G social security numbers": "not exported",
    "H medical record numbers": "replaced by patient_key (HMAC-SHA256, per-clinic secret)",
    "I health plan beneficiary numbers": "not exported",
    "J account numbers": "not exported",
    "K certificate/license numbers": "not exported",
    "L vehicle identifiers": "not exported",
    "M device identifiers": "not exported",
    "N URLs": "not exported",
    "O IP addresses": "not exported",
    "P biometric identifiers": "not exported",
    "Q full-face photographs": "not exported",
    "R any other unique identifying number, characteristic or code": (
        "FHIR resource ids not exported; patient ids replaced by patient_key; free text "
        "(reasons, notes, evidence text) dropped; flags replaced by their count"
    ),
}


def clinic_key(scope: TenantScope) -> bytes:
    """The clinic's de-identification secret, made on first use (32 random bytes)."""
    stored = scope.settings.get_raw(KEY_SETTING)
    if not isinstance(stored, str) or len(stored) != 64:
        scope.settings.set_raw(KEY_SETTING, secrets.token_hex(32))
        stored = scope.settings.get_raw(KEY_SETTING)
    return bytes.fromhex(str(stored))


def patient_key(key: bytes, patient_id: str) -> str:
    """128 bits of HMAC-SHA256 over the patient id, hex: unique enough for any panel."""
    return hmac.new(key, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def safe_age(age: int | None) -> str | None:
    if age is None:
        return None
    return "90+" if age > AGE_CAP else str(age)


def zip3(postal_code: str | None) -> str | None:
    """The first three digits of a US ZIP code (12345 or 12345-6789), "000" for restricted
    zones; None otherwise (a postal code of another country is not exported at all)."""
    text = (postal_code or "").strip()
    if not re.fullmatch(r"\d{5}(-?\d{4})?", text):
        return None
    return "000" if text[:3] in RESTRICTED_ZIP3 else text[:3]


@dataclass
class Deidentifier:
    """Turns identified result rows (columns.RESULTS) into DEIDENTIFIED_RESULTS rows and counts
    what it did, for the report."""

    key: bytes
    done: Counter[str] = field(default_factory=Counter)
    patients: int = 0
    # Rows come patient by patient: each patient id is hashed once.
    _last: tuple[str, str] = field(default=("", ""), init=False, repr=False)

    def row(self, row: Row) -> Row:
        pid = str(row.get("patient_id") or "")
        if pid != self._last[0] or not self._last[1]:
            self._last = (pid, patient_key(self.key, pid))
            self.patients += 1
        age = safe_age(row.get("age"))
        zip_code = zip3(row.get("postal_code"))
        self.done["rows"] += 1
        self.done["rows with age shown as 90+"] += int(age == "90+")
        self.done["rows with ZIP shown as 000"] += int(zip_code == "000")
        self.done["rows with a non-US postal code dropped"] += int(
            zip_code is None and bool(row.get("postal_code"))
        )
        self.done["rows with a reason dropped"] += int(bool(row.get("reason")))
        self.done["flags replaced by a count"] += len(row.get("flags") or ())
        return {
            "patient_key": self._last[1],
            "age": age,
            "sex": row.get("sex"),
            "zip3": zip_code,
            "screening_id": row.get("screening_id"),
            "screening": row.get("screening"),
            "status": row.get("status"),
            "last_done_year": _year(row.get("last_done")),
            "next_due_year": _year(row.get("next_due")),
            "flag_count": len(row.get("flags") or ()),
            "source": row.get("source"),
            "as_of_year": _year(row.get("as_of")),
        }

    def report(self) -> dict[str, Any]:
        return {
            "standard": "HIPAA Safe Harbor, 45 CFR 164.514(b)(2)",
            "patients": self.patients,
            "identifiers": SAFE_HARBOR,
            "dates": "reduced to the year (not shifted)",
            "patient_key": "HMAC-SHA256 of the patient id under the clinic's secret (not included)",
            "counts": dict(sorted(self.done.items())),
            "note": (
                "Safe Harbor also requires that the clinic has no actual knowledge that the "
                "remaining data could identify a patient; review small groups before sharing."
            ),
        }


def _year(value: Any) -> int | None:
    return int(value.year) if value is not None and hasattr(value, "year") else None


__all__ = [
    "RESTRICTED_ZIP3",
    "SAFE_HARBOR",
    "Deidentifier",
    "clinic_key",
    "patient_key",
    "safe_age",
    "zip3",
]
