"""The sandbox as one ASGI application: every organization's SMART and FHIR endpoints behind
the fault-injection and counting middleware."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from healthprep_desktop.sandbox.auth_http import AuthHttp
from healthprep_desktop.sandbox.bulk import FILE_PATH, STATUS_PATH, BulkService
from healthprep_desktop.sandbox.bulk.endpoints import BulkEndpoints
from healthprep_desktop.sandbox.config import SandboxClock, SandboxConfig
from healthprep_desktop.sandbox.datastore import dumps
from healthprep_desktop.sandbox.faults import (
    FaultInjector,
    FaultMiddleware,
    SandboxStats,
    operation_outcome,
)
from healthprep_desktop.sandbox.fhir_api import FhirApi
from healthprep_desktop.sandbox.launch import LaunchHttp
from healthprep_desktop.sandbox.org import Organization
from healthprep_desktop.sandbox.registration import RegistrationHttp

_ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]


async def _outcome_for_status(request: Request, exc: Exception) -> Response:
    """Unknown paths and methods get an OperationOutcome too, like every other error."""
    status = getattr(exc, "status_code", 500)
    code = "not-found" if status == 404 else "not-supported"
    body = operation_outcome(code, f"{request.method} {request.url.path} is not served here")
    headers = dict(getattr(exc, "headers", None) or {})
    return Response(body, status, headers, "application/fhir+json")


class SandboxApp:
    """Builds the organizations (loading their data) and the ASGI app that serves them."""

    def __init__(self, config: SandboxConfig) -> None:
        if not config.orgs:
            raise ValueError("a sandbox needs at least one organization")
        self.config = config
        self.clock = SandboxClock()
        self.stats = SandboxStats()
        self.injector = FaultInjector(config.faults)
        self.orgs = {org.org_id: Organization(org, config, self.clock) for org in config.orgs}
        fhir = FhirApi(config, self.orgs, self.stats, self.clock)
        # Bulk Data export (sandbox/bulk): Group and $export inside the FHIR dispatch, the
        # status and file routes below (before the FHIR catch-all).
        self.bulk = fhir.bulk = BulkService(config, self.orgs, self.stats, self.clock)
        bulk = BulkEndpoints(self.bulk)  # status and delete, files, the touch control
        auth = AuthHttp(config, self.orgs)
        registration = RegistrationHttp(self.orgs)  # also installs the JWT bearer grant
        routes = [
            Route("/", self._index),
            Route("/_sandbox/stats", self._stats),
            # Change some patients' data so a _since export finds them (sandbox/bulk).
            Route("/_sandbox/bulk/touch", bulk.touch, methods=["POST"]),
            Route("/org/{org_id}/auth/authorize", auth.authorize, methods=["GET", "POST"]),
            Route("/org/{org_id}/auth/token", auth.token, methods=["POST"]),
            Route("/org/{org_id}/auth/jwks", auth.jwks),
            # Dynamic client registration (sandbox/registration.py); also installs the
            # JWT bearer grant in each organization's token endpoint.
            Route("/org/{org_id}/auth/register", registration.register, methods=["POST"]),
            Route(
                "/org/{org_id}/auth/register/{client_id}",
                registration.revoke,
                methods=["DELETE"],
            ),
            # The EHR side of an EHR launch (sandbox/launch.py): issues healthprep:// launches.
            Route("/org/{org_id}/launch", LaunchHttp(self.orgs).issue, methods=["POST"]),
            Route(
                "/org/{org_id}/fhir/" + STATUS_PATH + "/{job_id}",
                bulk.status,
                methods=["GET", "DELETE"],
            ),
            Route(
                "/org/{org_id}/fhir/" + FILE_PATH + "/{job_id}/{name}",
                bulk.files,
                methods=["GET", "HEAD"],
            ),
            Route("/org/{org_id}/fhir", fhir.endpoint, methods=_ALL_METHODS),
            Route("/org/{org_id}/fhir/{rest:path}", fhir.endpoint, methods=_ALL_METHODS),
        ]
        handlers = {404: _outcome_for_status, 405: _outcome_for_status}
        starlette = Starlette(routes=routes, exception_handlers=handlers)
        self.asgi = FaultMiddleware(starlette, self.injector, self.stats)

    async def _index(self, request: Request) -> Response:
        root = str(request.base_url).rstrip("/")
        orgs = [
            {"id": o.org_id, "name": o.config.name, "fhir_base": f"{root}/org/{o.org_id}/fhir"}
            for o in self.orgs.values()
        ]
        return Response(dumps({"organizations": orgs}), media_type="application/json")

    async def _stats(self, request: Request) -> Response:
        # Counts by type, interaction and status only: nothing here identifies a patient.
        return Response(dumps(self.stats.snapshot()), media_type="application/json")
