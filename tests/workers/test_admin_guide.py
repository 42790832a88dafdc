"""docs/admin-guide.md and the code agree: its error table is the one the code generates
(workers/failure_catalog.py calls the functions that build each sentence)."""

from __future__ import annotations

from pathlib import Path

from healthprep_desktop.workers.failure_catalog import failure_rows, failure_table, table_in

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "admin-guide.md"


def test_the_guide_shows_the_exact_sentence_of_each_failure() -> None:
    document = GUIDE.read_text(encoding="utf-8")
    assert table_in(document) == failure_table(), (
        "docs/admin-guide.md is out of date: run "
        "'python -m healthprep_desktop.workers.failure_catalog --write docs/admin-guide.md'"
    )


def test_the_table_covers_every_failure_the_issue_names() -> None:
    situations = " ".join(row.situation for row in failure_rows()).lower()
    for failure in (
        "never answers",  # hung server
        "nothing listens",  # refused port
        "does not resolve",  # DNS
        "does not trust",  # TLS untrusted
        "web page",
        "403",
        "500",
        "401",
        "invalid_grant",
        "nobody has signed in",  # no authorization
        "revoked this workstation's key",
    ):
        assert failure in situations, failure
    for row in failure_rows():  # one sentence each, never a Python error's repr
        assert row.message and "Traceback" not in row.message and "Error(" not in row.message


def test_the_old_registration_guide_points_to_the_new_one() -> None:
    old = (GUIDE.parent / "REGISTERING.md").read_text(encoding="utf-8")
    assert "admin-guide.md" in old
