"""A clinic's time zone: IANA names, the workstation's own zone, and turning a name into a zone.

Every place where an event becomes a date (which day a visit or a result falls on, which
Appointments make up a clinic day) uses the clinic's zone, a per-clinic setting
(``settings.TIME_ZONE``) whose default is this workstation's zone: from ``TZ``, else ``tzlocal``
(a dependency: it knows how Windows and macOS name their zones), else ``/etc/localtime`` or
``/etc/timezone``, and a whole-hour offset as the last resort.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from datetime import tzinfo
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)

FALLBACK_ZONE = "UTC"


def zone_problem(name: object) -> str | None:
    """None when ``name`` is a time zone this machine knows, else one sentence saying why not."""
    if not isinstance(name, str) or not name.strip():
        return "the time zone must be an IANA name such as America/Chicago"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return (
            f"{name!r} is not a time zone this computer knows: use an IANA name such as "
            "America/Chicago or Europe/Berlin"
        )
    return None


def clinic_zone(zone: tzinfo | str | None) -> tzinfo:
    """The zone for a name (or a zone, as is); None or an unknown name: the workstation's."""
    if isinstance(zone, tzinfo):
        return zone
    if zone and zone_problem(zone) is None:
        return ZoneInfo(zone)
    return ZoneInfo(workstation_zone_name())


@cache
def workstation_zone_name() -> str:
    """This computer's time zone as an IANA name (cached: it is read once per process)."""
    for candidate in _candidates():
        if candidate and zone_problem(candidate) is None:
            return candidate
    return FALLBACK_ZONE


def _candidates() -> list[str]:
    out: list[str] = []
    tz_env = os.environ.get("TZ", "").lstrip(":")
    if tz_env:
        out.append(tz_env.removeprefix("/usr/share/zoneinfo/"))
    try:
        import tzlocal  # type: ignore[import-not-found, unused-ignore]

        out.append(str(tzlocal.get_localzone_name() or ""))
    except ImportError:
        pass  # not installed: the sources below
    except Exception as exc:  # it cannot tell: the sources below
        log.debug("tzlocal could not name this computer's zone: %s", type(exc).__name__)
    localtime = Path("/etc/localtime")
    try:
        target = str(localtime.resolve()) if localtime.is_symlink() else ""
    except OSError:
        target = ""
    if "zoneinfo/" in target:
        out.append(target.split("zoneinfo/", 1)[1])
    with contextlib.suppress(OSError):
        out.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    out.append(_fixed_offset_name())
    return out


def _fixed_offset_name() -> str:
    """An "Etc/GMT+5"-style zone for the current whole-hour offset (no daylight saving rules)."""
    offset = -time.timezone if not time.localtime().tm_isdst else -time.altzone
    hours, rest = divmod(offset, 3600)
    if rest:
        return ""
    return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"  # POSIX: the sign is inverted
