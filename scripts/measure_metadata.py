"""Regenerate resources/measures/measures.json from the Measure resources in ../shared/measures.

Keeps what measure mode needs to write MeasureReports (canonical URL, version, groups with their
ids, population codes and criteria, population basis, stratifier criteria) and none of the
embedded logic. Run from the repository root: python scripts/measure_metadata.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "measures"


def _basis(element: dict) -> str | None:
    for ext in element.get("extension", []):
        if ext.get("url", "").endswith("populationBasis"):
            return str(ext.get("valueCode"))
    return None


def main() -> int:
    out: dict[str, dict] = {}
    for folder in sorted(SHARED.glob("CMS*")):
        cms = folder.name.split("-")[0]
        measure = json.loads(next(folder.glob("Measure-*.json")).read_text(encoding="utf-8"))
        groups = []
        for g in measure["group"]:
            groups.append(
                {
                    "id": g["id"],
                    "basis": _basis(g) or _basis(measure) or "boolean",
                    "populations": [
                        {
                            "id": p.get("id"),
                            "code": p["code"]["coding"][0]["code"],
                            "criteria": p["criteria"]["expression"],
                        }
                        for p in g["population"]
                    ],
                    "stratifiers": [
                        {"id": s.get("id"), "criteria": s["criteria"]["expression"]}
                        for s in g.get("stratifier", [])
                        if "criteria" in s
                    ],
                }
            )
        out[cms] = {
            "folder": folder.name,
            "url": measure["url"],
            "version": measure.get("version"),
            "name": measure.get("name"),
            "title": measure.get("title"),
            "source": (folder / "SOURCE").read_text(encoding="utf-8").split()[0],
            "groups": groups,
        }
    target = ROOT / "resources" / "measures" / "measures.json"
    target.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(out)} measures to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
