"""``healthprep-desktop entries add|list|remove`` through the real entry point and store."""

from __future__ import annotations

import pytest

from healthprep_desktop.cli import main
from healthprep_desktop.store import EntryKind, Store


def test_add_list_remove_is_audited(capsys: pytest.CaptureFixture[str]) -> None:
    with Store.open() as store:
        tenant = store.create_tenant("Main Street Clinic")
    args = ["--tenant", "Main Street Clinic"]
    code = main(
        ["entries", "add", *args, "--patient", "p1", "--screening", "colorectal_cancer",
         "--kind", "done-elsewhere", "--date", "2025-05-02", "--note", "County Hospital",
         "--by", "jdoe"]
    )  # fmt: skip
    assert code == 0
    assert main(["entries", "list", *args]) == 0
    out = capsys.readouterr().out
    assert "colorectal_cancer\tdone_elsewhere on 2025-05-02" in out and "by jdoe" in out
    with Store.open() as store:
        scope = store.tenant(tenant.id)
        (entry,) = scope.entries.all()
        assert entry.kind is EntryKind.DONE_ELSEWHERE and entry.note == "County Hospital"
        audited = [e for e in scope.audit_entries() if e.action == "screening_entry"]
        assert [e.patient_id for e in audited] == ["p1"]
        assert "County" not in audited[0].detail  # the note may hold PHI: never in the trail
    assert main(["entries", "remove", *args, str(entry.id)]) == 0
    assert main(["entries", "remove", *args, str(entry.id)]) == 2
    assert "No entry" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--screening", "nope", "--kind", "declined"], "No screening 'nope'"),
        (["--screening", "breast_cancer", "--kind", "postponed"], "postponed until"),
        (["--screening", "breast_cancer", "--kind", "done-elsewhere"], "date it was done"),
    ],
)
def test_bad_entries_get_one_clear_sentence(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with Store.open() as store:
        store.create_tenant("Clinic")
    assert main(["entries", "add", "--patient", "p1", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_several_clinics_need_a_tenant(capsys: pytest.CaptureFixture[str]) -> None:
    with Store.open() as store:
        store.create_tenant("A")
        store.create_tenant("B")
    assert main(["entries", "list"]) == 2
    assert "--tenant" in capsys.readouterr().err
