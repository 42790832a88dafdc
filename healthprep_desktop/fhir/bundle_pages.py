"""Search Bundles read leniently: each entry validated (or kept and repaired), outcomes set
apart, the next link resolved against the base (fhir/paging.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from healthprep_desktop.fhir.errors import (
    InvalidResponse,
)
from healthprep_desktop.fhir.paging import next_link, resolve_link
from healthprep_desktop.fhir.parsing import (
    JSON,
    InvalidHandler,
    InvalidResource,
    check_resource,
    repair,
)
from healthprep_desktop.fhir.transport import FhirTransport

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SearchPage:
    url: str
    resources: list[JSON]
    total: int | None
    next_url: str | None
    invalid: list[InvalidResource] = field(default_factory=list)
    outcomes: list[JSON] = field(default_factory=list)  # search.mode = outcome entries


class BundleReader(FhirTransport):
    """Turns searchset Bundles into SearchPage-s."""

    # --- lenient validation ------------------------------------------------------------------

    def _accept(
        self, resource: Any, invalid: list[InvalidResource], on_invalid: InvalidHandler | None
    ) -> bool:
        if not self.validate:
            return isinstance(resource, dict)
        problem = check_resource(resource)
        if problem is None:
            return True
        if self.keep_invalid and isinstance(resource, dict):
            repair(resource)
            problem = InvalidResource(
                problem.resource_type,
                problem.resource_id,
                problem.error_kinds,
                problem.paths,
                kept=True,
            )
        invalid.append(problem)
        handler = on_invalid or self.on_invalid
        if handler is not None:
            handler(problem)
        log.warning(
            "%s invalid resource: %s", "kept" if problem.kept else "skipped", problem.describe()
        )
        return problem.kept

    def _page_from_bundle(
        self, bundle: JSON, current_url: str, on_invalid: InvalidHandler | None
    ) -> SearchPage:
        if bundle.get("resourceType") != "Bundle":
            raise InvalidResponse("a search did not return a Bundle")
        resources: list[JSON] = []
        outcomes: list[JSON] = []
        invalid: list[InvalidResource] = []
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if resource is None:
                continue
            search = entry.get("search") if isinstance(entry.get("search"), dict) else {}
            if (search or {}).get("mode") == "outcome" or (
                isinstance(resource, dict) and resource.get("resourceType") == "OperationOutcome"
            ):
                outcomes.append(resource)
                continue
            if self._accept(resource, invalid, on_invalid):
                resources.append(resource)
        link = next_link(bundle)
        total = bundle.get("total")
        return SearchPage(
            url=current_url,
            resources=resources,
            total=total if isinstance(total, int) else None,
            next_url=resolve_link(self.base_url, current_url, link) if link else None,
            invalid=invalid,
            outcomes=outcomes,
        )

    def page_from_bundle(
        self, bundle: JSON, on_invalid: InvalidHandler | None = None
    ) -> SearchPage:
        """Validate the entries of a Bundle obtained some other way (e.g. inside a batch)."""
        return self._page_from_bundle(bundle, self.base_url, on_invalid)
