"""Oracle Health takes only XHTML documents: the sheet's text goes as strict XHTML, posted to
the oracle-like sandbox over real HTTP, and a PDF is refused there."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from xml.etree import ElementTree

import httpx
import pytest
from profiles_support import profile_config
from sandbox_smart import USER_SCOPE, KeyPair, login, tiny_config

from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.config import RateLimitConfig, RetryConfig
from healthprep_desktop.fhir.errors import FhirHttpError
from healthprep_desktop.fhir.presets import PRESETS, Vendor
from healthprep_desktop.fhir.writeback import (
    XHTML,
    MemoryLedger,
    PrepSheetDocument,
    build_document_reference,
    sheet_xhtml,
    write_back,
)
from healthprep_desktop.sandbox import SandboxServer

XHTML_NS = "{http://www.w3.org/1999/xhtml}"
TEXT = "Prep sheet <Ana & Bo>\n  Colorectal cancer screening: DUE\x01\x0b"


def test_the_sheet_text_becomes_well_formed_strict_xhtml() -> None:
    data = sheet_xhtml("Prep sheet 2026-12-04", TEXT)
    assert b"-//W3C//DTD XHTML 1.0 Strict//EN" in data
    root = ElementTree.fromstring(data)  # noqa: S314 - our own output; raises unless well formed
    pre = root.find(f"{XHTML_NS}body/{XHTML_NS}pre")
    assert (
        pre is not None and pre.text == "Prep sheet <Ana & Bo>\n  Colorectal cancer screening: DUE"
    )
    assert root.find(f"{XHTML_NS}head/{XHTML_NS}title").text == "Prep sheet 2026-12-04"  # type: ignore[union-attr]


def test_oracle_preset_posts_xhtml_as_its_single_attachment() -> None:
    preset = PRESETS[Vendor.ORACLE_HEALTH]
    assert preset.writeback_content_type == XHTML
    doc = PrepSheetDocument("p1", "prep-sheet/2026-12-04", "Prep sheet", text=TEXT, pdf=b"%PDF")
    resource = build_document_reference(
        doc, version_uuid="u", content_type=XHTML, single_attachment=True
    )
    (content,) = resource["content"]
    assert content["attachment"]["contentType"] == f"{XHTML}; charset=utf-8"
    ElementTree.fromstring(base64.b64decode(content["attachment"]["data"]))  # noqa: S314


@pytest.fixture(scope="module")
def oracle(keys: dict[str, KeyPair]) -> Iterator[tuple[SandboxServer, str]]:
    server = SandboxServer(profile_config("oracle-like", tiny_config(keys))).start()
    with httpx.Client(timeout=10.0) as http:
        token = login(http, server, scope=USER_SCOPE)["access_token"]
    yield server, str(token)
    server.stop()


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


async def test_oracle_like_accepts_the_xhtml_sheet_and_refuses_a_pdf(
    oracle: tuple[SandboxServer, str],
) -> None:
    server, token = oracle
    doc = PrepSheetDocument(
        "clinic-p1",
        "prep-sheet/2026-12-04",
        "Prep sheet",
        text=TEXT,
        pdf=b"%PDF-1.4",
        encounter_id="clinic-enc-1",
    )
    async with FhirClient(
        server.base_url(),
        auth=_Bearer(token),
        retry=RetryConfig(max_attempts=1, base_delay=0.01),
        rate_limit=RateLimitConfig(requests_per_second=0),
    ) as client:
        result = await write_back(
            client,
            doc,
            ledger=MemoryLedger(),
            tenant="t",
            connection="c",
            content_type=XHTML,
            single_attachment=True,
        )
        assert result.outcome == "created" and result.resource_id
        stored = await client.read("DocumentReference", result.resource_id)
        attachment = stored["content"][0]["attachment"]
        assert attachment["contentType"].startswith(XHTML)
        with pytest.raises(FhirHttpError):
            await write_back(
                client,
                doc,
                ledger=MemoryLedger(),
                tenant="t",
                connection="c2",
                content_type="application/pdf",
                single_attachment=True,
            )
