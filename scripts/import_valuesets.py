"""Copy the public eCQM value sets from ../shared/valuesets into resources/valuesets/ (compact).

Run once when the shared value sets change: python scripts/import_valuesets.py [SHARED_DIR]
Each output file keeps the value set's OID, name and version so the screening library can cite it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "valuesets"
    out = ROOT / "resources" / "valuesets"
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for path in sorted(shared.glob("valueset-*.json")):
        vs = json.loads(path.read_text(encoding="utf-8"))
        codes = sorted(
            {
                (c["system"], c["code"], c.get("display", ""))
                for c in vs.get("expansion", {}).get("contains", [])
            }
        )
        compact = {
            "oid": vs["id"],
            "name": vs.get("title") or vs.get("name"),
            "version": vs.get("version"),
            "url": vs.get("url"),
            "source": "eCQM value set (VSAC, CC0-1.0 via cqframework ecqm-content-qicore)",
            "codes": [list(c) for c in codes],
        }
        oid = path.stem.removeprefix("valueset-")
        compact["oid"] = oid
        (out / f"{oid}.json").write_text(
            json.dumps(compact, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8"
        )
        count += 1
    print(f"wrote {count} value sets to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
