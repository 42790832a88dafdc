"""DocumentReference attachments: inline data, or a URL streamed with a size cap and ETag."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from healthprep_desktop.fhir.errors import (
    AttachmentTooLarge,
    InvalidResponse,
)
from healthprep_desktop.fhir.parsing import (
    JSON,
)
from healthprep_desktop.fhir.transport import FHIR_JSON, FhirTransport


@dataclass(frozen=True, slots=True)
class AttachmentData:
    data: bytes | None  # None when not modified (ETag matched)
    content_type: str
    etag: str | None = None
    not_modified: bool = False


class AttachmentReader(FhirTransport):
    """Reads attachment bytes through the connection's request path."""

    # --- attachments -------------------------------------------------------------------------

    async def fetch_attachment(
        self, attachment: JSON, *, max_bytes: int | None = None, etag: str | None = None
    ) -> AttachmentData:
        """The bytes of a DocumentReference attachment: inline `data`, or `url` (relative to the
        FHIR base, e.g. "Binary/123", or absolute), streamed with a size cap."""
        cap = max_bytes or self.max_attachment_bytes
        content_type = str(attachment.get("contentType") or "application/octet-stream")
        if attachment.get("data"):
            raw = str(attachment["data"])
            if len(raw) * 3 // 4 > cap:
                raise AttachmentTooLarge(f"inline attachment is over {cap} bytes")
            try:
                return AttachmentData(base64.b64decode(raw, validate=False), content_type)
            except ValueError as exc:
                raise InvalidResponse("inline attachment data is not valid base64") from exc
        url = attachment.get("url")
        if not url:
            raise InvalidResponse("the attachment has neither data nor url")
        size = attachment.get("size")
        if isinstance(size, int) and size > cap:
            raise AttachmentTooLarge(f"attachment is over {cap} bytes")
        headers = {"Accept": f"{content_type}, {FHIR_JSON};q=0.5, */*;q=0.1"}
        if etag:
            headers["If-None-Match"] = etag
        response = await self.send(
            "GET", str(url), headers=headers, stream=True, ok_statuses=(304,)
        )
        try:
            if response.status_code == 304:
                return AttachmentData(None, content_type, etag, not_modified=True)
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > cap:
                raise AttachmentTooLarge(f"attachment is over {cap} bytes")
            chunks: list[bytes] = []
            received = 0
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                if received > cap:
                    raise AttachmentTooLarge(f"attachment is over {cap} bytes")
                chunks.append(chunk)
        finally:
            await response.aclose()
        data = b"".join(chunks)
        served_type = response.headers.get("Content-Type", content_type).split(";")[0].strip()
        new_etag = response.headers.get("ETag")
        if served_type in (FHIR_JSON, "application/json"):
            # The server sent the Binary resource itself: the content is base64 inside it.
            return _binary_resource_content(data, content_type, new_etag)
        return AttachmentData(data, served_type or content_type, new_etag)


def _binary_resource_content(data: bytes, fallback_type: str, etag: str | None) -> AttachmentData:
    import json as jsonlib

    try:
        body = jsonlib.loads(data)
    except ValueError as exc:
        raise InvalidResponse("the attachment is not valid JSON") from exc
    if not isinstance(body, dict) or body.get("resourceType") != "Binary":
        raise InvalidResponse("the attachment URL returned JSON that is not a Binary")
    raw = body.get("data") or ""
    return AttachmentData(
        base64.b64decode(str(raw)), str(body.get("contentType") or fallback_type), etag
    )
