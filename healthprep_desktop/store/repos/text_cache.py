"""Extracted document text by content hash, so a document is read (or OCR'd) once.

Implements the ``TextCache`` protocol of docs/CONTRACTS.md (``screening.documents``).
Per tenant: the text is PHI and belongs to the clinic whose chart it came from.
"""

from __future__ import annotations

from healthprep_desktop.store import clock
from healthprep_desktop.store.scoped import ScopedTable


class TextCacheRepository:
    def __init__(self, table: ScopedTable) -> None:
        self._table = table

    def get(self, content_hash: str) -> str | None:
        row = self._table.select_one({"content_hash": content_hash}, columns=("text",))
        return None if row is None else str(row["text"])

    def get_method(self, content_hash: str) -> str | None:
        """How the text was first read (a TextMethod value), for cache hits."""
        row = self._table.select_one({"content_hash": content_hash}, columns=("method",))
        return None if row is None else str(row["method"])

    def put(self, content_hash: str, text: str, method: str) -> None:
        # str() turns a TextMethod (a StrEnum) into its plain value.
        self._table.upsert(
            {
                "content_hash": content_hash,
                "text": text,
                "method": str(method),
                "created_at": clock.now_text(),
            },
            key=("content_hash",),
        )

    def __len__(self) -> int:
        return self._table.count()
