"""A clinic day is searched with explicit bounds in the clinic's time zone and kept by local start
date, against a real HTTP server (stdlib, loopback) that reads a bare date in UTC, as many do."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qsl

import pytest
from fhir_support import Answer, LoopbackServer, Seen

from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.config import RateLimitConfig, RetryConfig
from healthprep_desktop.fhir.schedule import (
    day_search_params,
    fetch_day_appointments,
    fetch_schedule,
    local_start_date,
)

CHICAGO = "America/Chicago"  # -05:00 in July
DAY = date(2021, 7, 1)


def appointment(appt_id: str, start: str, end: str) -> dict[str, object]:
    return {
        "resourceType": "Appointment",
        "id": appt_id,
        "status": "booked",
        "start": start,
        "end": end,
        "participant": [{"actor": {"reference": f"Patient/{appt_id}"}, "status": "accepted"}],
    }


APPOINTMENTS = [
    appointment("early", "2021-07-01T00:30:00-05:00", "2021-07-01T00:50:00-05:00"),
    appointment("evening", "2021-07-01T23:30:00-05:00", "2021-07-01T23:50:00-05:00"),
    appointment("next-day", "2021-07-02T00:30:00-05:00", "2021-07-02T00:50:00-05:00"),
    appointment("day-before", "2021-06-30T23:30:00-05:00", "2021-06-30T23:50:00-05:00"),
    # Starts the evening before and runs past midnight: a server matching periods returns it.
    appointment("overnight", "2021-06-30T23:50:00-05:00", "2021-07-01T00:20:00-05:00"),
    # Written in UTC by the EHR: 2021-07-01T22:00-05:00 in the clinic.
    appointment("utc-written", "2021-07-02T03:00:00Z", "2021-07-02T03:20:00Z"),
]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _range(value: str) -> tuple[str, datetime, datetime]:
    """A date search value as (prefix, start, end): a bare date is the UTC day (this server's
    zone); an instant is itself."""
    prefix, text = (
        (value[:2], value[2:]) if value[:2] in ("ge", "lt", "gt", "le") else ("eq", value)
    )
    if "T" not in text:
        day = date.fromisoformat(text)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return prefix, start, start + timedelta(days=1)
    moment = _instant(text)
    assert moment.tzinfo is not None, "the app must send an offset"
    return prefix, moment, moment


def _matches(appt: dict[str, object], value: str) -> bool:
    # The Appointment's period [start, end) against the search, FHIR-style: overlap counts.
    lo, hi = _instant(str(appt["start"])), _instant(str(appt["end"]))
    prefix, s_lo, s_hi = _range(value)
    if prefix == "eq":
        return lo < s_hi and hi > s_lo
    if prefix == "ge":
        return hi > s_lo
    if prefix == "lt":
        return lo < s_lo
    raise AssertionError(f"unexpected prefix {prefix}")


@pytest.fixture
def utc_server(server: LoopbackServer) -> LoopbackServer:
    @server.route("/fhir/Appointment")
    def search(seen: Seen) -> Answer:
        dates = [v for k, v in parse_qsl(seen.query) if k == "date"]
        found = [a for a in APPOINTMENTS if all(_matches(a, v) for v in dates)]
        return (
            200,
            {},
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": a} for a in found],
            },
        )

    return server


def _client(server: LoopbackServer) -> FhirClient:
    return FhirClient(
        server.url,
        retry=RetryConfig(max_attempts=1),
        rate_limit=RateLimitConfig(requests_per_second=0, max_concurrency=4),
    )


async def test_bare_date_read_in_utc_is_what_this_server_does(utc_server: LoopbackServer) -> None:
    # The failure the app used to meet: the evening's visits are gone, last night's are in.
    async with _client(utc_server) as client:
        found = await client.search_all("Appointment", [("date", DAY.isoformat())])
    assert {a["id"] for a in found} == {"early", "day-before", "overnight"}


async def test_clinic_day_keeps_the_evening_and_not_the_next_day(
    utc_server: LoopbackServer,
) -> None:
    async with _client(utc_server) as client:
        visits = await fetch_schedule(client, DAY, tz=CHICAGO)
    ids = [v.appointment_id for v in visits]
    assert "evening" in ids and "next-day" not in ids
    assert set(ids) == {"early", "evening", "utc-written"}  # overnight: started the day before
    (query,) = [s.query for s in utc_server.hits("/fhir/Appointment")]
    dates = [v for k, v in parse_qsl(query) if k == "date"]
    assert dates == ["ge2021-07-01T00:00:00-05:00", "lt2021-07-02T00:00:00-05:00"]


async def test_the_window_reads_the_same_day(utc_server: LoopbackServer) -> None:
    async with _client(utc_server) as client:
        found = await fetch_day_appointments(client, DAY, tz=CHICAGO)
    assert {a["id"] for a in found} == {"early", "evening", "utc-written"}


async def test_a_zone_east_of_utc_is_sent_intact(utc_server: LoopbackServer) -> None:
    # "+02:00" must reach the server as a plus sign, not a space.
    async with _client(utc_server) as client:
        visits = await fetch_schedule(client, DAY, tz="Europe/Berlin")
    (query,) = [s.query for s in utc_server.hits("/fhir/Appointment")]
    assert [v for k, v in parse_qsl(query) if k == "date"] == [
        "ge2021-07-01T00:00:00+02:00",
        "lt2021-07-02T00:00:00+02:00",
    ]
    # Berlin's 1 July runs from 17:00 to 17:00 Chicago time: only "day-before", "overnight"
    # and "early" (06:30, 06:50 and 07:30 in Berlin) start on it.
    assert {v.appointment_id for v in visits} == {"day-before", "overnight", "early"}


def test_daylight_saving_days_have_their_own_offsets() -> None:
    spring = day_search_params(date(2021, 3, 14), CHICAGO)
    assert spring == [
        ("date", "ge2021-03-14T00:00:00-06:00"),
        ("date", "lt2021-03-15T00:00:00-05:00"),
    ]
    autumn = day_search_params(date(2021, 11, 7), CHICAGO)
    assert autumn == [
        ("date", "ge2021-11-07T00:00:00-05:00"),
        ("date", "lt2021-11-08T00:00:00-06:00"),
    ]


def test_local_start_date() -> None:
    assert local_start_date("2021-07-02T03:00:00Z", CHICAGO) == date(2021, 7, 1)
    assert local_start_date("2021-07-01T23:30:00", CHICAGO) == date(2021, 7, 1)  # local already
    assert local_start_date("2021-07-01", CHICAGO) == date(2021, 7, 1)
    assert local_start_date("not a date", CHICAGO) is None
    assert local_start_date(None, CHICAGO) is None
