"""The headless session of an EHR launch: the batch's session, with the connection chosen by the
launch's ``iss`` and the sign-in done by the SMART EHR-launch flow."""

from __future__ import annotations

import argparse
import sys

from healthprep_desktop.fhir.ehr_launch import (
    LaunchContext,
    LaunchError,
    LaunchRequest,
    UnknownIssuer,
    complete_ehr_launch,
    find_launch_connection,
)
from healthprep_desktop.fhir.errors import AuthError, FhirError
from healthprep_desktop.fhir.loopback import open_system_browser, print_url
from healthprep_desktop.fhir.store_adapters import StoreAudit
from healthprep_desktop.workers.headless import HeadlessSession, SessionError
from healthprep_desktop.workers.launch_targets import audit_refused_launch, launch_candidates


class LaunchSession(HeadlessSession):
    def __init__(
        self, args: argparse.Namespace, request: LaunchRequest, *, time_limit: float = 300.0
    ) -> None:
        super().__init__(args)
        self.request = request
        self.time_limit = time_limit
        self.context: LaunchContext | None = None

    def _saved(self) -> None:
        assert self.store is not None
        store = self.store
        try:
            target = find_launch_connection(self.request.iss, launch_candidates(store))
        except LaunchError as exc:
            if isinstance(exc, UnknownIssuer):
                audit_refused_launch(store, self.request.iss)
            raise SessionError(str(exc)) from exc
        tenant_id, connection_id = target.key
        self.scope = store.tenant(tenant_id)
        self.connection_id = connection_id

    async def _sign_in_if_needed(self) -> None:
        assert self.connection is not None and self.store is not None
        opener = _browser_or_print if sys.stdin.isatty() and sys.stdout.isatty() else print_url
        try:
            self.context = await complete_ehr_launch(
                self.connection,
                self.request,
                open_url=opener,
                time_limit=self.time_limit,
                audit=StoreAudit(self.store),
            )
        except (AuthError, FhirError) as exc:
            raise SessionError(f"the EHR launch sign-in failed: {exc}") from exc


def _browser_or_print(url: str) -> None:
    if not open_system_browser(url):
        print_url(url)
