"""A folder of import files where most are hostile or broken, beside a few good Synthea bundles.

Each bad file is named for what is wrong with it; the 100 MB file is sparse (it takes no disk).
"""

from __future__ import annotations

import json
from pathlib import Path

BIG_FILE_BYTES = 100 * 1024 * 1024


def _nested(depth: int) -> dict[str, object]:
    node: dict[str, object] = {"url": "http://example.org/leaf", "valueString": "x"}
    for _ in range(depth):
        node = {"url": "http://example.org/nest", "extension": [node]}
    return node


def write_bad_files(folder: Path) -> dict[str, str]:
    """Writes every bad file into ``folder``; returns file name -> a word its reason names."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bad-json.json").write_text('{"resourceType": "Bundle", "entry": [', encoding="utf-8")
    (folder / "array.json").write_text('[{"resourceType": "Patient", "id": "a1"}]', "utf-8")
    (folder / "wrong-type.json").write_text(
        json.dumps({"resourceType": "Patinet", "id": "w1", "gender": "female"}), "utf-8"
    )
    (folder / "number-type.json").write_text(json.dumps({"resourceType": 7, "id": "n1"}), "utf-8")
    (folder / "no-type.json").write_text(json.dumps({"id": "m1", "gender": "male"}), "utf-8")
    (folder / "entries-not-objects.json").write_text(
        json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [1, "two", None]}),
        "utf-8",
    )
    (folder / "entry-not-list.json").write_text(
        json.dumps({"resourceType": "Bundle", "type": "collection", "entry": 5}), "utf-8"
    )
    (folder / "deep-lists.json").write_text("[" * 100_000 + "]" * 100_000, "utf-8")
    deep_patient = {"resourceType": "Patient", "id": "deep1", "extension": [_nested(400)]}
    (folder / "deep-resource.json").write_text(json.dumps(deep_patient), "utf-8")
    with (folder / "huge.json").open("wb") as handle:  # sparse: no disk blocks
        handle.seek(BIG_FILE_BYTES - 1)
        handle.write(b"}")
    latin1 = '{"resourceType": "Patient", "id": "l1", "name": [{"family": "Mu\u00f1oz"}]}'
    (folder / "latin1.json").write_bytes(latin1.encode("latin-1"))
    (folder / "empty.json").write_bytes(b"")
    return {
        "bad-json.json": "not valid JSON",
        "array.json": "list",
        "wrong-type.json": "Patinet",
        "number-type.json": "resourceType",
        "no-type.json": "resourceType",
        "entries-not-objects.json": "entries",
        "entry-not-list.json": "entry",
        "deep-lists.json": "nested",
        "deep-resource.json": "nested",
        "huge.json": "MB",
        "latin1.json": "UTF-8",
        "empty.json": "empty",
    }
