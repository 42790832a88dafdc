"""Validating a screening library's JSON into the model (see library.py for the shape).

Errors name the exact place: ``screenings[2] (colorectal).modalities[0].every: ...``.
"""

from __future__ import annotations

from typing import Any

from healthprep_desktop.screening.library_model import (
    AGE_DATES,
    GATE_KINDS,
    READINGS,
    RECENT,
    RESOURCE_TYPES,
    SEXES,
    TIMINGS,
    AgeRule,
    CodeSet,
    Criterion,
    Flag,
    Gate,
    Key,
    Library,
    LibraryError,
    Modality,
    ScreeningType,
    Source,
    Span,
)
from healthprep_desktop.screening.valuesets import (
    ValueSet,
    load_valueset,
    normalize_code,
    normalize_system,
)


def resolve_valueset(oid: str) -> ValueSet:
    """A shipped value set by OID (resources/valuesets/<oid>.json)."""
    return load_valueset(oid)


def parse_library(data: Any) -> Library:
    p = LibraryParser()
    return p.library(data)


class LibraryParser:
    def __init__(self) -> None:
        self.named: dict[str, Criterion] = {}
        self.raw_named: dict[str, Any] = {}
        self.set_ids: set[str] = set()
        self.referenced: list[tuple[str, str]] = []  # (path, set id)

    # helpers
    def fail(self, path: str, message: str) -> LibraryError:
        return LibraryError(f"{path}: {message}")

    def obj(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected an object, got {type(value).__name__}")
        return value

    def text(self, d: dict[str, Any], key: str, path: str, *, required: bool = True) -> str:
        value = d.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.fail(f"{path}.{key}", "expected a non-empty string")
        return value

    def int_(self, value: Any, path: str, *, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(path, f"expected a whole number >= {minimum}, got {value!r}")
        return value

    def strings(self, value: Any, path: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(path, "expected a list of strings")
        return tuple(value)

    def sets(self, value: Any, path: str) -> tuple[str, ...]:
        ids = self.strings(value, path)
        for sid in ids:
            self.referenced.append((path, sid))
        return ids

    def check_keys(self, d: dict[str, Any], allowed: set[str], path: str) -> None:
        unknown = sorted(set(d) - allowed)
        if unknown:
            raise self.fail(path, f"unknown field(s) {', '.join(unknown)}")

    def span(self, value: Any, path: str) -> Span:
        d = self.obj(value, path)
        self.check_keys(d, {"years", "months", "days"}, path)
        if not d:
            raise self.fail(path, "expected one of years, months, days")
        span = Span(
            years=self.int_(d.get("years", 0), f"{path}.years"),
            months=self.int_(d.get("months", 0), f"{path}.months"),
            days=self.int_(d.get("days", 0), f"{path}.days"),
        )
        if span == Span():
            raise self.fail(path, "must be longer than zero")
        return span

    def resources(self, value: Any, path: str) -> frozenset[str] | None:
        if value is None:
            return None
        names = self.strings(value, path)
        bad = [n for n in names if n not in RESOURCE_TYPES]
        if bad:
            raise self.fail(path, f"unsupported resource type(s) {', '.join(bad)}")
        return frozenset(names)

    # library
    def library(self, data: Any) -> Library:
        root = self.obj(data, "library")
        self.check_keys(
            root,
            {
                "schema",
                "name",
                "version",
                "description",
                "conventions",
                "due_soon_days",
                "value_sets",
                "local_code_sets",
                "criteria",
                "screenings",
            },
            "library",
        )
        if root.get("schema") != 1:
            raise self.fail("library.schema", "expected 1")
        code_sets = self.code_sets(root)
        self.raw_named = self.obj(root.get("criteria", {}), "library.criteria")
        for name in self.raw_named:
            self.named_criterion(name, ())
        raw_screenings = root.get("screenings")
        if not isinstance(raw_screenings, list) or not raw_screenings:
            raise self.fail("library.screenings", "expected a non-empty list")
        screenings = tuple(
            self.screening(s, f"screenings[{i}]") for i, s in enumerate(raw_screenings)
        )
        seen: set[str] = set()
        for s in screenings:
            if s.id in seen:
                raise self.fail(f"screening {s.id}", "duplicate id")
            seen.add(s.id)
        for path, sid in self.referenced:
            if sid not in code_sets:
                raise self.fail(
                    path, f"unknown code set {sid!r} (cite it in value_sets or local_code_sets)"
                )
        index: dict[Key, list[str]] = {}
        for cs in code_sets.values():
            for key in cs.keys:
                index.setdefault(key, []).append(cs.id)
        return Library(
            name=self.text(root, "name", "library"),
            version=self.text(root, "version", "library"),
            due_soon_days=self.int_(root.get("due_soon_days", 30), "library.due_soon_days"),
            screenings=screenings,
            code_sets=code_sets,
            code_index={k: tuple(v) for k, v in index.items()},
        )

    def code_sets(self, root: dict[str, Any]) -> dict[str, CodeSet]:
        out: dict[str, CodeSet] = {}
        for oid, name in self.obj(root.get("value_sets", {}), "library.value_sets").items():
            path = f"value_sets[{oid}]"
            if not isinstance(name, str):
                raise self.fail(path, "expected the value set's name")
            try:
                vs = resolve_valueset(oid)
            except KeyError as exc:
                raise self.fail(
                    path, f"value set {oid} is not shipped in resources/valuesets"
                ) from exc
            if vs.name != name:
                raise self.fail(path, f"name {name!r} does not match the value set ({vs.name!r})")
            out[oid] = CodeSet(oid, vs.name, vs.keys, oid=oid, source="VSAC eCQM value set")
        locals_ = self.obj(root.get("local_code_sets", {}), "library.local_code_sets")
        for sid, raw in locals_.items():
            path = f"local_code_sets[{sid}]"
            if sid in out:
                raise self.fail(path, "id clashes with a value set OID")
            d = self.obj(raw, path)
            self.check_keys(d, {"name", "source", "codes", "note"}, path)
            keys: set[Key] = set()
            codes = d.get("codes")
            if not isinstance(codes, list) or not codes:
                raise self.fail(f"{path}.codes", "expected a non-empty list")
            for j, c in enumerate(codes):
                cp = f"{path}.codes[{j}]"
                cd = self.obj(c, cp)
                self.check_keys(cd, {"system", "code", "display"}, cp)
                system = normalize_system(self.text(cd, "system", cp))
                keys.add((system, normalize_code(system, self.text(cd, "code", cp))))
            out[sid] = CodeSet(
                sid,
                self.text(d, "name", path),
                frozenset(keys),
                source=self.text(d, "source", path),
            )
        return out

    # criteria
    def named_criterion(self, name: str, stack: tuple[str, ...]) -> Criterion:
        if name in self.named:
            return self.named[name]
        if name in stack:
            raise self.fail(f"criteria.{name}", "refers to itself")
        if name not in self.raw_named:
            raise self.fail(f"@{name}", "no such named criterion")
        crit = self.criterion(self.raw_named[name], f"criteria.{name}", (*stack, name))
        self.named[name] = crit
        return crit

    def criterion(self, value: Any, path: str, stack: tuple[str, ...] = ()) -> Criterion:
        if isinstance(value, str):
            if not value.startswith("@"):
                raise self.fail(path, "a criterion is an object or a reference '@name'")
            return self.named_criterion(value[1:], stack)
        d = self.obj(value, path)
        self.check_keys(
            d,
            {
                "label",
                "sets",
                "resources",
                "statuses",
                "window",
                "timing",
                "value_sets",
                "latest_only",
                "body_sites",
                "discharge_sets",
                "min_count",
                "min_age",
                "min_value",
                "unit",
                "all_of",
                "any_of",
                "note",
            },
            path,
        )
        label = self.text(d, "label", path)
        all_of = tuple(
            self.criterion(c, f"{path}.all_of[{i}]", stack)
            for i, c in enumerate(d.get("all_of", []))
        )
        any_of = tuple(
            self.criterion(c, f"{path}.any_of[{i}]", stack)
            for i, c in enumerate(d.get("any_of", []))
        )
        sets = self.sets(d.get("sets"), f"{path}.sets")
        if not sets and not all_of and not any_of:
            raise self.fail(path, "needs sets, all_of or any_of")
        if sets and (all_of or any_of):
            raise self.fail(path, "use either sets or all_of/any_of, not both")
        window_raw = d.get("window", "ever")
        if window_raw == "ever":
            window = None
        elif window_raw == "recent":
            window = RECENT
        else:
            window = self.span(window_raw, f"{path}.window")
        timing = d.get("timing", "overlaps")
        if timing not in TIMINGS:
            raise self.fail(f"{path}.timing", f"expected one of {', '.join(TIMINGS)}")
        statuses = d.get("statuses")
        min_age = d.get("min_age")
        min_value = d.get("min_value")
        if min_value is not None and (
            isinstance(min_value, bool) or not isinstance(min_value, int | float)
        ):
            raise self.fail(f"{path}.min_value", "expected a number")
        unit = d.get("unit")
        if unit is not None and not isinstance(unit, str):
            raise self.fail(f"{path}.unit", "expected text such as 'mg/dL'")
        return Criterion(
            label=label,
            sets=sets,
            resources=self.resources(d.get("resources"), f"{path}.resources"),
            statuses=frozenset(self.strings(statuses, f"{path}.statuses")) if statuses else None,
            window=window,
            timing=timing,
            value_sets=self.sets(d.get("value_sets"), f"{path}.value_sets"),
            latest_only=bool(d.get("latest_only", False)),
            body_sites=frozenset(self.strings(d.get("body_sites"), f"{path}.body_sites")),
            discharge_sets=self.sets(d.get("discharge_sets"), f"{path}.discharge_sets"),
            min_count=self.int_(d.get("min_count", 1), f"{path}.min_count", minimum=1),
            min_age=None if min_age is None else self.int_(min_age, f"{path}.min_age"),
            min_value=None if min_value is None else float(min_value),
            unit=unit,
            all_of=all_of,
            any_of=any_of,
        )

    # screenings
    def screening(self, value: Any, path: str) -> ScreeningType:
        d = self.obj(value, path)
        sid = self.text(d, "id", path)
        path = f"{path} ({sid})"
        self.check_keys(
            d,
            {
                "id",
                "name",
                "description",
                "sources",
                "group",
                "specificity",
                "sex",
                "age",
                "triggers",
                "trigger_label",
                "exclusions",
                "gate",
                "completion",
                "modalities",
                "frequency",
                "due_soon_days",
                "note",
            },
            path,
        )
        sex = d.get("sex")
        if sex is not None and sex not in SEXES:
            raise self.fail(f"{path}.sex", "expected 'female', 'male' or null")
        age = self.age(d.get("age", {}), f"{path}.age")
        sources_raw = d.get("sources")
        if not isinstance(sources_raw, list) or not sources_raw:
            raise self.fail(
                f"{path}.sources", "cite at least one source (USPSTF, CMS measure, ...)"
            )
        sources = []
        for i, s in enumerate(sources_raw):
            sp = f"{path}.sources[{i}]"
            sd = self.obj(s, sp)
            self.check_keys(sd, {"type", "ref", "note"}, sp)
            sources.append(
                Source(self.text(sd, "type", sp), self.text(sd, "ref", sp), sd.get("note", ""))
            )
        mods_raw = d.get("modalities")
        if not isinstance(mods_raw, list) or not mods_raw:
            raise self.fail(f"{path}.modalities", "expected a non-empty list")
        modalities = tuple(
            self.modality(m, f"{path}.modalities[{i}]") for i, m in enumerate(mods_raw)
        )
        completion = d.get("completion", "any")
        if completion not in ("any", "all"):
            raise self.fail(f"{path}.completion", "expected 'any' or 'all'")
        triggers = tuple(
            self.criterion(c, f"{path}.triggers[{i}]") for i, c in enumerate(d.get("triggers", []))
        )
        exclusions = tuple(
            self.criterion(c, f"{path}.exclusions[{i}]")
            for i, c in enumerate(d.get("exclusions", []))
        )
        gate = None
        if d.get("gate") is not None:
            gd = self.obj(d["gate"], f"{path}.gate")
            kind = gd.get("kind")
            if kind not in GATE_KINDS:
                raise self.fail(f"{path}.gate.kind", f"expected one of {', '.join(GATE_KINDS)}")
            for key, val in gd.items():
                if key.endswith("_sets"):
                    self.sets(val, f"{path}.gate.{key}")
            gate = Gate(kind, dict(gd))
        due_soon = d.get("due_soon_days")
        return ScreeningType(
            id=sid,
            name=self.text(d, "name", path),
            description=self.text(d, "description", path),
            sources=tuple(sources),
            modalities=modalities,
            group=d.get("group") or sid,
            specificity=self.int_(d.get("specificity", 0), f"{path}.specificity"),
            sex=sex,
            age=age,
            triggers=triggers,
            trigger_label=d.get("trigger_label", ""),
            exclusions=exclusions,
            gate=gate,
            completion=completion,
            frequency=d.get("frequency")
            or " · ".join(
                (f"{m.name} {m.frequency_text()}" if len(modalities) > 1 else m.frequency_text())
                for m in modalities
            ),
            due_soon_days=None
            if due_soon is None
            else self.int_(due_soon, f"{path}.due_soon_days"),
        )

    def age(self, value: Any, path: str) -> AgeRule:
        d = self.obj(value, path)
        self.check_keys(d, {"min", "max", "on", "note"}, path)
        lo = d.get("min")
        hi = d.get("max")
        on = d.get("on", "as_of")
        if on not in AGE_DATES:
            raise self.fail(f"{path}.on", f"expected one of {', '.join(AGE_DATES)}")
        rule = AgeRule(
            None if lo is None else self.int_(lo, f"{path}.min"),
            None if hi is None else self.int_(hi, f"{path}.max"),
            on,
        )
        if rule.min is not None and rule.max is not None and rule.min > rule.max:
            raise self.fail(path, "min is above max")
        return rule

    def modality(self, value: Any, path: str) -> Modality:
        d = self.obj(value, path)
        mid = self.text(d, "id", path)
        self.check_keys(
            d,
            {
                "id",
                "name",
                "sets",
                "every",
                "doses",
                "resources",
                "statuses",
                "result_required",
                "value_sets",
                "min_age_at_event",
                "max_age_at_event",
                "also_requires",
                "also_requires_name",
                "keywords",
                "keyword_threshold",
                "flag",
                "reading",
                "exclude_encounters",
                "note",
            },
            path,
        )
        reading = d.get("reading")
        if reading is not None and reading not in READINGS:
            raise self.fail(f"{path}.reading", f"expected one of {', '.join(READINGS)}")
        exclude_classes: frozenset[str] = frozenset()
        exclude_sets: tuple[str, ...] = ()
        if d.get("exclude_encounters") is not None:
            ed = self.obj(d["exclude_encounters"], f"{path}.exclude_encounters")
            self.check_keys(ed, {"classes", "sets", "note"}, f"{path}.exclude_encounters")
            exclude_classes = frozenset(
                self.strings(ed.get("classes"), f"{path}.exclude_encounters.classes")
            )
            exclude_sets = self.sets(ed.get("sets"), f"{path}.exclude_encounters.sets")
        every_raw = d.get("every")
        once = every_raw == "once"
        season = every_raw == "season"
        every = None if once or season else self.span(every_raw, f"{path}.every")
        sets = self.sets(d.get("sets"), f"{path}.sets")
        keywords = self.strings(d.get("keywords"), f"{path}.keywords")
        if not sets and not keywords:
            raise self.fail(path, "needs sets or keywords")
        threshold = d.get("keyword_threshold", 0.8)
        if not isinstance(threshold, int | float) or not 0 < threshold <= 1:
            raise self.fail(f"{path}.keyword_threshold", "expected a number in (0, 1]")
        flag = None
        if d.get("flag") is not None:
            fd = self.obj(d["flag"], f"{path}.flag")
            self.check_keys(fd, {"label", "above", "components_at_or_above"}, f"{path}.flag")
            comps = self.obj(fd.get("components_at_or_above", {}), f"{path}.flag")
            flag = Flag(
                label=self.text(fd, "label", f"{path}.flag"),
                above=fd.get("above"),
                components_at_or_above=tuple((k, float(v)) for k, v in comps.items()),
            )
        lo = d.get("min_age_at_event")
        hi = d.get("max_age_at_event")
        statuses = d.get("statuses")
        return Modality(
            id=mid,
            name=self.text(d, "name", path),
            sets=sets,
            every=every,
            once=once,
            season=season,
            doses=self.int_(d.get("doses", 1), f"{path}.doses", minimum=1),
            resources=self.resources(d.get("resources"), f"{path}.resources"),
            statuses=frozenset(self.strings(statuses, f"{path}.statuses")) if statuses else None,
            result_required=bool(d.get("result_required", False)),
            value_sets=self.sets(d.get("value_sets"), f"{path}.value_sets"),
            min_age_at_event=None if lo is None else self.int_(lo, f"{path}.min_age_at_event"),
            max_age_at_event=None if hi is None else self.int_(hi, f"{path}.max_age_at_event"),
            also_requires=self.sets(d.get("also_requires"), f"{path}.also_requires"),
            also_requires_name=d.get("also_requires_name", ""),
            keywords=keywords,
            keyword_threshold=float(threshold),
            flag=flag,
            reading=reading,
            exclude_encounter_classes=exclude_classes,
            exclude_encounter_sets=exclude_sets,
        )
