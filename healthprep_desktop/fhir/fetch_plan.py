"""The plan of one chart fetch: which requests, with which parameters, and why.

Made from what the server's CapabilityStatement says (and what it refused before, see
search_limits) and from what the screening library, the measures and the sheet read
(screening.needs). The plan is data, so `batch --explain-fetch` prints exactly what the fetch
will do, and a test can compare the chart it brings with the naive fetch's.

Savings, each tested not to change a screening result (tests/fhir/test_fetch_plan*.py):
- only the types and categories the engine reads; a type the server does not offer is not
  searched (it would only answer 404 or 400);
- several categories in one search (multipleOr) where the server takes it;
- the largest page the server gives (`_count`), so a chart is one page per search;
- `_lastUpdated` (search) or `_since` ($everything) on reruns;
- attachments only for documents the engine or the sheet can read (record.py).
No date bound is put on any search: every rule shows the last time a test was done however old,
history conditions and immunization series count for life, and a document may date a test years
before its own date, so no window of the library bounds what a chart must bring.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from healthprep_desktop.fhir.discovery import Capabilities, ResourceSupport
from healthprep_desktop.fhir.search_limits import (
    MULTIPLE_OR,
    NEEDS_PARTNER,
    WHOLE_TYPE,
    SearchLimits,
)
from healthprep_desktop.screening.needs import Category, ChartNeeds, chart_needs, everything_needs

# The page size asked for; servers clamp `_count` to their own maximum (FHIR: "the server is not
# bound to return the number requested"), so asking for more never costs a request.
MAX_PAGE_SIZE = 1000
# Types every server has; a failure to search one of these fails the patient.
CORE_TYPES = frozenset(
    {"Condition", "Observation", "Procedure", "Immunization", "MedicationRequest", "Encounter"}
)
NOT_OFFERED = "the server does not offer it"
# Medication lies outside the patient compartment: read by reference from the resources naming it.
REFERENCED_ONLY = frozenset({"Medication"})


@dataclass(frozen=True, slots=True)
class SearchStep:
    """One search of the plan (its pages follow `next` links)."""

    resource_type: str
    params: tuple[tuple[str, str], ...]
    why: str = ""
    # Parameters the fetch may drop when the server answers 400 (and then remembers that).
    optional: tuple[str, ...] = ()
    # Categories OR-ed in one `category` value: split into one search each if refused.
    categories: tuple[Category, ...] = ()

    @property
    def core(self) -> bool:
        return self.resource_type in CORE_TYPES

    def query(self) -> str:
        return "&".join(f"{k}={v}" for k, v in self.params)

    def without(self, names: list[str]) -> SearchStep:
        return SearchStep(
            self.resource_type,
            tuple((k, v) for k, v in self.params if k not in names),
            self.why,
            tuple(o for o in self.optional if o not in names),
            self.categories,
        )

    def split_categories(self) -> list[SearchStep]:
        """One search per category (for a server that refuses several in one value)."""
        out: list[SearchStep] = []
        for category in self.categories:
            params = tuple((k, category.code if k == category.param else v) for k, v in self.params)
            out.append(
                SearchStep(
                    self.resource_type,
                    params,
                    self.why,
                    tuple(o for o in self.optional if o != MULTIPLE_OR),
                    (category,),
                )
            )
        return out


@dataclass(frozen=True, slots=True)
class FetchPlan:
    strategy: str  # everything | batch | revinclude | per-type
    searches: tuple[SearchStep, ...]
    types: tuple[str, ...]  # what the chart keeps (the needs' types)
    page_size: int | None  # None: the server's default
    since: str | None = None  # ISO instant for an incremental run
    skipped: tuple[tuple[str, str], ...] = ()  # (type, why it is not searched)
    useful_documents_only: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)
    needs: ChartNeeds | None = None  # what the plan was made for (a retry re-plans a search)
    naive: bool = False

    def expected_requests(self) -> int:
        """Requests with one page per search and no attachments: the plan's floor."""
        if self.strategy == "everything":
            return 1  # the Patient comes inside
        if self.strategy == "batch":
            return 1
        # The Patient (read, or searched with its _revinclude-s) + one search each.
        return 1 + len(self.searches)

    def explain(self) -> list[str]:
        lines = [
            f"strategy: {self.strategy}",
            f"page size: {self.page_size or 'server default'}",
            f"incremental: {'since ' + self.since if self.since else 'no (full chart)'}",
            "attachments: "
            + ("only documents a rule or section reads" if self.useful_documents_only else "all"),
            f"expected requests per chart (one page each, before attachments): "
            f"{self.expected_requests()}",
        ]
        lines += [f"note: {n}" for n in self.notes]
        for step in self.searches:
            why = f"  ({step.why})" if step.why else ""
            lines.append(f"  GET {step.resource_type}?{step.query()}{why}")
        for resource_type, why in self.skipped:
            lines.append(f"  skip {resource_type}: {why}")
        return lines


def choose_strategy(
    capabilities: Capabilities | None, since: datetime | None, types: tuple[str, ...]
) -> str:
    if capabilities is None:
        return "per-type"
    if capabilities.supports_everything():
        return "everything"
    if capabilities.supports_batch:
        return "batch"
    if since is None and any(capabilities.supports_revinclude(t) for t in types):
        # _revinclude filters only the Patient by _lastUpdated, so incremental runs skip it.
        return "revinclude"
    return "per-type"


def patient_param(resource_type: str, support: ResourceSupport | None) -> str:
    # R4 AdverseEvent has no `patient` search parameter, only `subject`.
    if resource_type == "AdverseEvent":
        return "subject"
    params = support.search_params if support is not None else frozenset()
    if params and "patient" not in params and "subject" in params:
        return "subject"
    return "patient"


def plan_fetch(
    capabilities: Capabilities | None,
    *,
    needs: ChartNeeds | None = None,
    since: datetime | None = None,
    limits: SearchLimits | None = None,
    naive: bool = False,
) -> FetchPlan:
    """The plan for one chart. `naive`: every type and category, the server's default page
    size, every attachment (the baseline the savings are measured and tested against)."""
    if needs is None:
        needs = everything_needs() if naive else chart_needs()
    limits = limits or SearchLimits()
    since_text = since.astimezone(UTC).isoformat() if since else None
    strategy = choose_strategy(capabilities, since, needs.types)
    page_size = None if naive else min(MAX_PAGE_SIZE, limits.page_cap or MAX_PAGE_SIZE)
    searches: list[SearchStep] = []
    skipped: list[tuple[str, str]] = []
    notes: list[str] = []
    searched = [t for t in needs.types if t not in REFERENCED_ONLY]
    if strategy == "everything":
        notes.append("Patient/$everything brings every type in one search")
        searched = []
    elif strategy == "revinclude":
        assert capabilities is not None
        included = [t for t in searched if capabilities.supports_revinclude(t)]
        notes.append("Patient?_id with _revinclude for: " + ", ".join(included))
        searched = [t for t in searched if t not in included]
    for resource_type in searched:
        support = capabilities.resources.get(resource_type) if capabilities else None
        if capabilities is not None and support is None and not naive:
            skipped.append((resource_type, NOT_OFFERED))
            continue
        if not naive and not limits.allows(resource_type, WHOLE_TYPE):
            skipped.append((resource_type, NOT_OFFERED))  # it answered 404 before
            continue
        searches += _steps(resource_type, support, needs, since_text, page_size, limits, naive)
    if capabilities is not None and strategy != "everything":
        lastupdated = [s for s in searches if any(k == "_lastUpdated" for k, _ in s.params)]
        if since_text and len(lastupdated) < len(searches):
            notes.append("some types have no _lastUpdated: searched in full and merged")
    return FetchPlan(
        strategy=strategy,
        searches=tuple(searches),
        types=needs.types,
        page_size=page_size,
        since=since_text,
        skipped=tuple(skipped),
        useful_documents_only=not naive,
        notes=tuple(notes),
        needs=needs,
        naive=naive,
    )


def _steps(
    resource_type: str,
    support: ResourceSupport | None,
    needs: ChartNeeds,
    since_text: str | None,
    page_size: int | None,
    limits: SearchLimits,
    naive: bool,
) -> list[SearchStep]:
    who = patient_param(resource_type, support)
    base: list[tuple[str, str]] = [(who, "{patient}")]
    optional: list[str] = []
    if page_size is not None and limits.allows(resource_type, "_count"):
        base.append(("_count", str(page_size)))
        optional.append("_count")
    if (
        since_text
        and _offers(support, "_lastUpdated")
        and limits.allows(resource_type, "_lastUpdated")
    ):
        base.append(("_lastUpdated", f"gt{since_text}"))
        optional.append("_lastUpdated")
    learned = not limits.allows(resource_type, NEEDS_PARTNER)
    if not learned and (support is None or support.patient_alone_allowed(who)):
        return [SearchStep(resource_type, tuple(base), "", tuple(optional))]
    partners = support.combination_partners(who) if support is not None else frozenset()
    param = partner_param(resource_type, needs, partners)
    categories = needs.categories_of(resource_type, param) if param else ()
    if not categories:
        # A combination we cannot fill (e.g. code only): try the patient alone; a refusal is
        # then reported like any type the server will not search.
        why = "the server declares no patient-only search; tried anyway"
        return [SearchStep(resource_type, tuple(base), why, tuple(optional))]
    return partner_steps(resource_type, base, optional, param, categories, limits, naive)


def partner_param(resource_type: str, needs: ChartNeeds, partners: frozenset[str]) -> str:
    """The parameter that completes a patient search: one the server names (else any) for
    which the needs list values (a category, an intent)."""
    candidates = sorted(partners) or ["category", "intent"]
    return next((p for p in candidates if needs.categories_of(resource_type, p)), "")


def partner_steps(
    resource_type: str,
    base: list[tuple[str, str]],
    optional: list[str],
    param: str,
    categories: tuple[Category, ...],
    limits: SearchLimits,
    naive: bool,
) -> list[SearchStep]:
    why = f"the server requires a {param}"
    if naive or not limits.allows(resource_type, MULTIPLE_OR) or len(categories) == 1:
        return [
            SearchStep(resource_type, (*base, (param, c.code)), why, tuple(optional), (c,))
            for c in categories
        ]
    joined = ",".join(c.code for c in categories)
    return [
        SearchStep(
            resource_type,
            (*base, (param, joined)),
            why + "; several in one search",
            (*optional, MULTIPLE_OR),
            categories,
        )
    ]


def _offers(support: ResourceSupport | None, param: str) -> bool:
    # Without a CapabilityStatement the parameter is tried; a refusal is learned.
    return support is None or not support.search_params or param in support.search_params
