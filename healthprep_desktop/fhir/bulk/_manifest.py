"""The completed export's manifest (Bulk Data 2.0 "complete status" body), validated.

A manifest that is not what the specification says (no transactionTime, an output without a
type or an absolute URL) is refused with one sentence, rather than half-used: the files it names
decide which patients a panel run sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from healthprep_desktop.fhir.errors import BulkManifestInvalid


@dataclass(frozen=True, slots=True)
class ManifestFile:
    type: str
    url: str
    count: int | None = None  # the server's count of resources, when given


@dataclass(frozen=True, slots=True)
class ExportManifest:
    transaction_time: str
    request: str
    requires_access_token: bool
    output: tuple[ManifestFile, ...]
    error: tuple[ManifestFile, ...] = ()  # NDJSON files of OperationOutcome resources

    @classmethod
    def from_json(cls, body: Any) -> ExportManifest:
        if not isinstance(body, dict):
            raise _invalid("it is not a JSON object")
        time = body.get("transactionTime")
        if not isinstance(time, str) or not time:
            raise _invalid("it has no transactionTime")
        requires = body.get("requiresAccessToken", False)
        if not isinstance(requires, bool):
            raise _invalid("requiresAccessToken is not true or false")
        return cls(
            transaction_time=time,
            request=str(body.get("request") or ""),
            requires_access_token=requires,
            output=_files(body.get("output"), "output"),
            error=_files(body.get("error", []), "error"),
        )

    def to_json(self) -> dict[str, Any]:
        def files(items: tuple[ManifestFile, ...]) -> list[dict[str, Any]]:
            return [
                {
                    "type": f.type,
                    "url": f.url,
                    **({"count": f.count} if f.count is not None else {}),
                }
                for f in items
            ]

        return {
            "transactionTime": self.transaction_time,
            "request": self.request,
            "requiresAccessToken": self.requires_access_token,
            "output": files(self.output),
            "error": files(self.error),
        }


def _files(value: Any, field_name: str) -> tuple[ManifestFile, ...]:
    if value is None:
        value = []
    if not isinstance(value, list):
        raise _invalid(f"its {field_name} is not a list")
    files: list[ManifestFile] = []
    for number, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise _invalid(f"{field_name} entry {number} is not an object")
        kind, url, count = item.get("type"), item.get("url"), item.get("count")
        if not isinstance(kind, str) or not kind.isalpha():
            raise _invalid(f"{field_name} entry {number} has no resource type")
        if not isinstance(url, str) or httpx.URL(url).scheme not in ("http", "https"):
            raise _invalid(f"{field_name} entry {number} has no absolute http(s) URL")
        if count is not None and (not isinstance(count, int) or count < 0):
            raise _invalid(f"{field_name} entry {number} has an invalid count")
        files.append(ManifestFile(kind, url, count))
    return tuple(files)


def _invalid(why: str) -> BulkManifestInvalid:
    return BulkManifestInvalid(
        f"The server's Bulk Data manifest is not valid ({why}): start the export again, and "
        "report it to the EHR's administrator if it happens again."
    )


__all__ = ["ExportManifest", "ManifestFile"]
