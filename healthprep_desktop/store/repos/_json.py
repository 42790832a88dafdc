"""JSON columns: compact, deterministic text in, plain Python values out."""

from __future__ import annotations

import json
from typing import Any


def dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def load(text: str) -> Any:
    return json.loads(text)
