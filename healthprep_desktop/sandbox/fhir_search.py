"""FHIR search: type searches, paging through kept result snapshots, _include/_revinclude,
and Patient/$everything, with the server profile's rules applied to each search."""

from __future__ import annotations

import json
from typing import Any

from healthprep_desktop.sandbox import fhirdates
from healthprep_desktop.sandbox.bundles import (
    relative_url,
    searchset,
)
from healthprep_desktop.sandbox.datastore import Criterion, SearchError, StoredResource, dumps
from healthprep_desktop.sandbox.fhir_common import CONTROL_PARAMS, Ctx, FhirBase, FhirError, Result
from healthprep_desktop.sandbox.org import Snapshot
from healthprep_desktop.sandbox.profiles.enforce import check_search
from healthprep_desktop.sandbox.scopes import READ, SEARCH
from healthprep_desktop.sandbox.search_params import ParamKind, params_for


def _include_specs(
    values: list[str], searched: str, reverse: bool
) -> list[tuple[str, str, str | None]]:
    specs: list[tuple[str, str, str | None]] = []
    for raw in values:
        for spec in raw.split(","):
            parts = spec.split(":")
            if len(parts) not in (2, 3):
                raise SearchError(f"'{spec}' is not Type:parameter[:target]")
            source, param = parts[0], parts[1]
            target = parts[2] if len(parts) == 3 else None
            if not reverse and source != searched:
                raise SearchError(f"_include must start with {searched}")
            defs = params_for(source).get(param)
            if defs is None or defs[0].kind is not ParamKind.REFERENCE:
                raise SearchError(f"{source}:{param} is not a reference parameter")
            specs.append((source, param, target))
    return specs


def schedule_days(criteria: list[Criterion], limit: int) -> list[Any]:
    """The days an Appointment date search covers (AND across parameters, OR within one)."""
    lo, hi = fhirdates.UNBOUNDED
    for c in criteria:
        if c.name != "date" or c.modifier is not None:
            continue
        c_lo, c_hi = float("inf"), float("-inf")
        for raw in c.values:
            prefix, text = fhirdates.split_prefix(raw)
            found = fhirdates.parse_range(text)
            if found is None:
                continue
            b_lo, b_hi = fhirdates.bounds(prefix, found)
            c_lo, c_hi = min(c_lo, b_lo), max(c_hi, b_hi)
        lo, hi = max(lo, c_lo), min(hi, c_hi)
    return fhirdates.days_in((lo, hi), limit) or []


def with_ignored_warning(body: bytes, ignored: tuple[str, ...]) -> bytes:
    """The searchset with a warning entry (search.mode outcome) naming what was ignored, as a
    lenient server reports it. Rare (only ignored parameters), so parsing the page is fine."""
    bundle = json.loads(body)
    warning = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "warning",
                "code": "not-supported",
                "diagnostics": f"ignored unsupported search parameters: {', '.join(ignored)}",
            }
        ],
    }
    bundle.setdefault("entry", []).append({"resource": warning, "search": {"mode": "outcome"}})
    return dumps(bundle)


class SearchMixin(FhirBase):
    # --- search ----------------------------------------------------------------------------

    def _search(self, ctx: Ctx, rtype: str, query: list[tuple[str, str]]) -> Result:
        limit = self._access(ctx, rtype, SEARCH)
        # The profile refuses the search (400) or drops what it ignores; the self link then
        # names only the parameters used, as FHIR asks of a lenient server.
        checked = check_search(self.profile, rtype, query)
        query = checked.query
        control: dict[str, list[str]] = {}
        criteria: list[Criterion] = []
        for name, value in query:
            base, _, modifier = name.partition(":")
            if base in CONTROL_PARAMS:
                control.setdefault(base, []).append(value)
            else:
                criteria.append(Criterion(base, modifier or None, value.split(",")))
        count = self._page_size(control)
        if "_getpages" in control:
            return self._snapshot_page(ctx, control, count, "search-type")
        if limit is not None:
            self._check_named_patient(rtype, criteria, limit)
        if rtype == "Appointment":
            for day in schedule_days(criteria, self.config.max_schedule_days):
                ctx.org.ensure_day(day)
        store = ctx.org.store
        matches = store.search(rtype, criteria, limit)
        sort_keys = [k for raw in control.get("_sort", []) for k in raw.split(",") if k]
        for key in sort_keys:
            name = key.lstrip("-")
            defs = params_for(rtype).get(name)
            if name not in ("_lastUpdated", "_id") and (
                defs is None or defs[0].kind is not ParamKind.DATE
            ):
                raise SearchError(f"_sort by '{name}' is not supported")
        if sort_keys:
            matches = store.sort(matches, sort_keys)
        includes = _include_specs(control.get("_include", []), rtype, reverse=False)
        revincludes = _include_specs(control.get("_revinclude", []), rtype, reverse=True)
        if control.get("_summary", [""])[-1] == "count" or count == 0:
            body = searchset(ctx.bases.url, len(matches), [], [], self.clock.now())
            return Result(200, body, interaction="search-type")
        extra = [(k, v) for k in ("_include", "_revinclude") for v in control.get(k, [])]
        self_link = relative_url(rtype, query)
        result = self._page(ctx, rtype, self_link, matches, 0, count, extra, includes, revincludes)
        if checked.ignored and result.body:
            result.body = with_ignored_warning(result.body, checked.ignored)
        return result

    @staticmethod
    def _check_named_patient(rtype: str, criteria: list[Criterion], limit: str) -> None:
        for c in criteria:
            named = c.name in ("patient", "subject") or (rtype == "Patient" and c.name == "_id")
            if not named:
                continue
            for value in c.values:
                if value.rstrip("/").rsplit("/", 1)[-1] != limit:
                    raise FhirError(403, "forbidden", "the search names a patient not in context")

    def _page(
        self,
        ctx: Ctx,
        path: str,
        self_link: str,
        results: list[StoredResource],
        offset: int,
        count: int,
        extra: list[tuple[str, str]],
        includes: list[tuple[str, str, str | None]],
        revincludes: list[tuple[str, str, str | None]],
        sid: str | None = None,
        total: int | None = None,
        interaction: str = "search-type",
    ) -> Result:
        """One page; ``results`` is the whole list (first page) or just this page (a
        snapshot page, with ``total`` given)."""
        if total is None:
            total = len(results)
            page = results[offset : offset + count]
            if total > offset + count:
                owner = (ctx.token.client_id, ctx.token.patient)
                sid = ctx.org.snapshots.add(Snapshot(list(results), owner, path, extra))
        else:
            page = results
        style = self.config.link_style
        links = [("self", ctx.bases.link(style, self_link))]
        if sid is not None and offset + count < total:
            params = [*extra, ("_getpages", sid), ("_getpagesoffset", str(offset + count))]
            params.append(("_count", str(count)))
            links.append(("next", ctx.bases.link(style, relative_url(path, params))))
        if sid is not None and offset > 0:
            params = [*extra, ("_getpages", sid), ("_getpagesoffset", str(max(0, offset - count)))]
            params.append(("_count", str(count)))
            links.append(("previous", ctx.bases.link(style, relative_url(path, params))))
        entries = [(s, self._served(s), "match") for s in page]
        entries += [
            (s, self._served(s), "include")
            for s in self._included(ctx, page, includes, revincludes)
        ]
        body = searchset(ctx.bases.url, total, links, entries, self.clock.now())
        return Result(200, body, interaction=interaction)

    def _snapshot_page(
        self, ctx: Ctx, control: dict[str, list[str]], count: int, interaction: str
    ) -> Result:
        sid = control["_getpages"][-1]
        snapshot = ctx.org.snapshots.get(sid)
        if snapshot is None or snapshot.owner != (ctx.token.client_id, ctx.token.patient):
            raise FhirError(410, "not-found", "the search has expired; run it again")
        try:
            offset = max(0, int(control.get("_getpagesoffset", ["0"])[-1]))
        except ValueError as exc:
            raise SearchError("_getpagesoffset must be a number") from exc
        store = ctx.org.store
        page: list[StoredResource] = []
        for old in snapshot.results[offset : offset + count]:
            found = store.get(old.resource_type, old.id)
            if found is not None:
                page.append(found)
        searched = snapshot.path.split("/", 1)[0]
        includes = _include_specs(control.get("_include", []), searched, reverse=False)
        revincludes = _include_specs(control.get("_revinclude", []), searched, reverse=True)
        self_params = [*snapshot.extra, ("_getpages", sid), ("_getpagesoffset", str(offset))]
        self_params.append(("_count", str(count)))
        return self._page(
            ctx,
            snapshot.path,
            relative_url(snapshot.path, self_params),
            page,
            offset,
            count,
            snapshot.extra,
            includes,
            revincludes,
            sid=sid,
            total=len(snapshot.results),
            interaction=interaction,
        )

    def _included(
        self,
        ctx: Ctx,
        page: list[StoredResource],
        includes: list[tuple[str, str, str | None]],
        revincludes: list[tuple[str, str, str | None]],
    ) -> list[StoredResource]:
        if not includes and not revincludes:
            return []
        store = ctx.org.store
        seen = {s.key for s in page}
        out: list[StoredResource] = []

        def add(found: StoredResource | None) -> None:
            if found is not None and found.key not in seen and self._may_read(ctx, found):
                seen.add(found.key)
                out.append(found)

        for _source, param, target in includes:
            for stored in page:
                for ref in stored.index.get(param, ()):
                    text = str(ref)
                    if "/" not in text or (target and not text.startswith(target + "/")):
                        continue
                    rtype, rid = text.split("/", 1)
                    add(store.get(rtype, rid))
        for source, param, _target in revincludes:
            for found in store.revinclude(page, source, param):
                add(found)
        return out

    # --- $everything -----------------------------------------------------------------------

    def _everything(self, ctx: Ctx, patient_id: str, query: list[tuple[str, str]]) -> Result:
        limit = self._access(ctx, "Patient", READ)
        if limit is not None and limit != patient_id:
            raise FhirError(403, "forbidden", "the patient is not the one in context")
        control: dict[str, list[str]] = {}
        for name, value in query:
            control.setdefault(name, []).append(value)
        count = self._page_size(control)
        if "_getpages" in control:
            return self._snapshot_page(ctx, control, count, "operation:everything")
        store = ctx.org.store
        if store.get("Patient", patient_id) is None:
            raise FhirError(404, "not-found", f"Patient/{patient_id} is not known")
        types = [t for raw in control.get("_type", []) for t in raw.split(",") if t] or None
        results = [s for s in store.compartment(patient_id, types) if self._may_read(ctx, s)]
        if "_since" in control:
            since = fhirdates.parse_range(control["_since"][-1])
            if since is None:
                raise SearchError("_since must be an instant")
            results = [s for s in results if s.lu_range[0] >= since[0]]
        path = f"Patient/{patient_id}/$everything"
        return self._page(
            ctx,
            path,
            relative_url(path, query),
            results,
            0,
            count,
            [],
            [],
            [],
            interaction="operation:everything",
        )
