"""Numbers, units and times as a physician reads them on the prep sheet.

- Units: UCUM codes to their printed form ("mL/min/{1.73_m2}" -> "mL/min/1.73 m²",
  "mm[Hg]" -> "mmHg", "kg/m2" -> "kg/m²"); annotations in braces lose the braces.
- Values: rounded to the precision of the reference range when there is one, else to three
  significant digits (never "7.199999999999999"); integers stay integers.
- H/L: from the Observation's interpretation, else from its reference range.
- Times: in the clinic's time zone, "Fri 4 Dec 2026, 08:00", never "UTC" or an offset.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, tzinfo
from typing import Any

_UNITS = {
    "mL/min/{1.73_m2}": "mL/min/1.73 m\u00b2",
    "mL/min/1.73m2": "mL/min/1.73 m\u00b2",
    "ml/min/{1.73_m2}": "mL/min/1.73 m\u00b2",
    "mm[Hg]": "mmHg",
    "kg/m2": "kg/m\u00b2",
    "mg/dL": "mg/dL",
    "g/dL": "g/dL",
    "mmol/L": "mmol/L",
    "mg/g": "mg/g",
    "10*3/uL": "\u00d710\u00b3/\u00b5L",
    "10*6/uL": "\u00d710\u2076/\u00b5L",
    "uL": "\u00b5L",
    "ug/dL": "\u00b5g/dL",
    "m[IU]/L": "mIU/L",
    "[in_i]": "in",
    "[lb_av]": "lb",
    "Cel": "\u00b0C",
    "[degF]": "\u00b0F",
    "/min": "/min",
    "1": "",
}
_ANNOTATION = re.compile(r"\{([^{}]*)\}")
_UCUM_TOKEN = re.compile(r"mL/min/\{1\.73_m2\}|mm\[Hg\]|kg/m2|\{[A-Za-z_ .-]+\}")


def human_unit(unit: str | None) -> str:
    if not unit:
        return ""
    if unit in _UNITS:
        return _UNITS[unit]
    return _ANNOTATION.sub(lambda m: m.group(1).replace("_", " "), unit)


def human_units(text: str) -> str:
    """UCUM units written inside a sentence (the engine's explanations) in printed form."""
    if "{" not in text and "[" not in text and "m2" not in text:
        return text
    return _UCUM_TOKEN.sub(lambda m: human_unit(m.group(0)), text)


def _decimals(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    text = repr(float(value)) if isinstance(value, float) else str(value)
    if "e" in text or "E" in text:
        return None
    return len(text.split(".", 1)[1].rstrip("0")) if "." in text else 0


def _range_decimals(ranges: Any) -> int | None:
    found: list[int] = []
    for rng in ranges if isinstance(ranges, list) else []:
        if not isinstance(rng, dict):
            continue
        for end in ("low", "high"):
            bound = rng.get(end)
            if isinstance(bound, dict):
                places = _decimals(bound.get("value"))
                if places is not None:
                    found.append(places)
    return max(found) if found else None


def round_value(value: float | int, ranges: Any = None) -> str:
    """The value at the reference range's precision, else three significant digits."""
    if isinstance(value, bool):
        return str(value)
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if whole and abs(value) < 1e15:
        return str(int(value))
    if not math.isfinite(float(value)):
        return str(value)
    places = _range_decimals(ranges)
    if places is not None:  # the lab's own precision, trailing zeros included ("7.20")
        return f"{value:.{places}f}"
    magnitude = math.floor(math.log10(abs(value))) if value else 0
    text = f"{value:.{max(0, 2 - magnitude)}f}"  # three significant digits, no padding
    return text.rstrip("0").rstrip(".") if "." in text else text


def range_flag(value: Any, ranges: Any) -> str:
    """ "H" or "L" when the value lies outside the (first) reference range, else ""."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    for rng in ranges if isinstance(ranges, list) else []:
        if not isinstance(rng, dict):
            continue
        low = (rng.get("low") or {}).get("value")
        high = (rng.get("high") or {}).get("value")
        if isinstance(high, int | float) and value > high:
            return "H"
        if isinstance(low, int | float) and value < low:
            return "L"
        return ""
    return ""


def clinic_time(value: datetime | None, zone: tzinfo | None) -> datetime | None:
    """``value`` in the clinic's zone (a naive time is taken as already local)."""
    if value is None or value.tzinfo is None or zone is None:
        return value
    return value.astimezone(zone)


def fmt_local(value: datetime | None, zone: tzinfo | None, dash: str = "\u2014") -> str:
    """ "Fri 4 Dec 2026, 08:00" in the clinic's zone; no zone name or offset is printed."""
    local = clinic_time(value, zone)
    if local is None:
        return dash
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"
