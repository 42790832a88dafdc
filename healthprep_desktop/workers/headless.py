"""Everything the headless ``batch`` command sets up around a BatchJob: the store, the clinic,
the connection (demo, saved or one-off), the sign-in, the progress bar and the exports."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import shutil
import sys
from datetime import date
from pathlib import Path
from types import TracebackType

from healthprep_desktop.fhir.config import AuthMethod, ConnectionConfig, Vendor
from healthprep_desktop.fhir.errors import AuthError, FhirError, ReauthenticationRequired
from healthprep_desktop.fhir.loopback import open_system_browser, print_url
from healthprep_desktop.fhir.presets import user_read_scopes
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.store_adapters import config_for_store
from healthprep_desktop.fhir.urls import fhir_url_problem
from healthprep_desktop.store import Store, StoreError, TenantScope
from healthprep_desktop.workers.batch import BatchJob, BatchSummary, summary_to_json
from healthprep_desktop.workers.connections import open_connection
from healthprep_desktop.workers.demo import DEMO_TENANT, DemoClinic
from healthprep_desktop.workers.env_secrets import env_secret
from healthprep_desktop.workers.events import Event, Listener
from healthprep_desktop.workers.job import JobSpec
from healthprep_desktop.workers.multi_source_demo import (
    SharedOrgs,
    ensure_demo_sources,
    sign_in_demo_sources,
)
from healthprep_desktop.workers.run_defaults import demo_home, next_clinic_day
from healthprep_desktop.workers.terminal import TerminalProgress

CLI_TENANT = "Command line"


class SessionError(Exception):
    """Something to tell the user plainly (no traceback)."""


def _secret_from_env(name: str, what: str) -> str:
    value = env_secret(name)  # taken out of os.environ: no child process inherits it
    if not value:
        raise SessionError(f"{what}: set {name} in the environment (never on the command line)")
    return value


def _one_off_config(args: argparse.Namespace) -> tuple[ConnectionConfig, dict[str, str]]:
    """A connection for --fhir-url: its config and the secrets to keep with it."""
    url = args.fhir_url.rstrip("/")
    if problem := fhir_url_problem(url):  # plain http:// only to this machine
        raise SessionError(problem)
    scopes = tuple(args.scopes.split()) if args.scopes else None
    secrets: dict[str, str] = {}
    auth = args.auth
    if auth == "none":
        method = AuthMethod.NONE
    elif auth == "basic":
        method = AuthMethod.BASIC
        secrets["password"] = _secret_from_env("HEALTHPREP_PASSWORD", "--auth basic")
    elif auth == "bearer":
        method = AuthMethod.API_KEY
        token = _secret_from_env("HEALTHPREP_BEARER_TOKEN", "--auth bearer")
        secrets["api_key"] = f"Bearer {token}"
    elif auth == "smart":
        method = AuthMethod.SMART_PUBLIC_PKCE
    else:
        method = AuthMethod.SMART_BACKEND_SERVICES
    if method.is_smart and not args.client_id:
        raise SessionError(f"--auth {auth} needs --client-id (the app's registration)")
    if scopes is None and method.is_smart:
        prefix = "system" if method is AuthMethod.SMART_BACKEND_SERVICES else "user"
        base = ("openid", "fhirUser", "offline_access") if prefix == "user" else ()
        reads = (
            user_read_scopes()
            if prefix == "user"
            else tuple(s.replace("user/", "system/", 1) for s in user_read_scopes())
        )
        write = (f"{prefix}/DocumentReference.write",) if args.write_back else ()
        scopes = (*base, *reads, *write)
    config = ConnectionConfig(
        name=f"one-off {url}",
        base_url=url,
        vendor=Vendor.GENERIC,
        auth_method=method,
        client_id=args.client_id,
        scopes=scopes or (),
        username=args.username,
        api_key_header="Authorization",
    )
    return config, secrets


class HeadlessSession:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.store: Store | None = None
        self.demo: DemoClinic | None = None
        self.scope: TenantScope | None = None
        self.connection: FhirConnection | None = None
        self.connection_id: int | None = None
        self.progress = TerminalProgress()
        self._wait_watch: asyncio.Task[None] | None = None
        self._demo_home: Path | None = None
        self.clinic_day: date = args.date or next_clinic_day(date.today())

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> HeadlessSession:
        return cls(args)

    async def __aenter__(self) -> HeadlessSession:
        try:
            await self._open()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop_wait_watch()
        if self.connection is not None:
            await self.connection.aclose()
        if self.demo is not None:
            await asyncio.to_thread(self.demo.stop)
        if self.store is not None:
            self.store.close()
        if self._demo_home is not None:
            shutil.rmtree(self._demo_home, ignore_errors=True)

    async def _open(self) -> None:
        args = self.args
        if args.demo:
            await self._open_demo()
        else:
            self.store = self._open_user_store()
            if args.fhir_url:
                self._one_off()
            else:
                self._saved()
        assert self.store is not None and self.scope is not None and self.connection_id
        self.connection = open_connection(self.store, self.scope.id, self.connection_id)
        await self._sign_in_if_needed()

    async def _open_demo(self) -> None:
        args = self.args
        self._demo_home = demo_home()
        # Synthetic data in a throwaway store whose key never leaves this process.
        self.store = Store.open_ephemeral(self._demo_home / "demo.db")
        tenant = self.store.create_tenant(DEMO_TENANT)
        self.scope = self.store.tenant(tenant.id)
        imports = [Path(p) for p in args.imports or ()]
        multi = bool(getattr(args, "multi_source", False)) and not imports
        self.demo = DemoClinic(
            patients=args.patients_in_demo, clinic_day=self.clinic_day, import_paths=imports,
            extra_orgs=SharedOrgs() if multi else None,
        )  # fmt: skip
        what = (
            f"{len(imports)} imported bundle path(s)"
            if imports
            else f"{args.patients_in_demo} synthetic patients"
        ) + (", a hospital EHR and an immunization registry" if multi else "")
        print(f"Starting the embedded sandbox ({what})...")
        await asyncio.to_thread(self.demo.start)
        self.connection_id = self.demo.ensure_connection(self.store, tenant.id)
        if multi:  # the hospital and the registry: their own connections and sign-ins
            ids = ensure_demo_sources(self.demo, self.store, tenant.id)
            await sign_in_demo_sources(self.demo, self.store, tenant.id, ids)

    def _open_user_store(self) -> Store:
        from healthprep_desktop.store.cli import open_for_cli

        store = open_for_cli(self.args, create=True)
        if store is None:
            raise SessionError("the local store could not be opened (see above)")
        return store

    def _find_tenant(self, wanted: str | None) -> TenantScope:
        assert self.store is not None
        tenants = self.store.tenants()
        if wanted:
            for t in tenants:
                if wanted in (t.id, t.name):
                    return self.store.tenant(t.id)
            raise SessionError(f"no clinic called {wanted!r} in the local store")
        if len(tenants) == 1:
            return self.store.tenant(tenants[0].id)
        raise SessionError("several clinics are set up: say which with --tenant")

    def _saved(self) -> None:
        args = self.args
        self.scope = self._find_tenant(args.tenant)
        if args.resume and not args.connection:
            self._resolve_resume(None)
            job = self.scope.jobs.get(args.resume)
            if job is None or job.connection_id is None:
                raise SessionError(f"no resumable job {args.resume} in this clinic")
            self.connection_id = job.connection_id
            return
        wanted = args.connection
        for conn in self.scope.connections.all():
            if wanted in (str(conn.id), conn.name):
                self.connection_id = conn.id
                self._resolve_resume(conn.id)
                return
        raise SessionError(f"no connection called {wanted!r} in this clinic")

    def _one_off(self) -> None:
        assert self.store is not None
        config, secrets = _one_off_config(self.args)
        if self.args.tenant:
            self.scope = self._find_tenant(self.args.tenant)
        else:
            existing = [t for t in self.store.tenants() if t.name == CLI_TENANT]
            tenant = existing[0] if existing else self.store.create_tenant(CLI_TENANT)
            self.scope = self.store.tenant(tenant.id)
        found = self.scope.connections.by_name(config.name)
        if found is None:
            self.connection_id = self.scope.connections.add(
                config.name, config.vendor.value, config.base_url, config=config_for_store(config)
            ).id
        else:
            self.connection_id = found.id
            self.scope.connections.update(found.id, config=config_for_store(config))
        for kind, value in secrets.items():
            self.scope.secrets.put(self.connection_id, kind, value)
        self._resolve_resume(self.connection_id)

    def _resolve_resume(self, connection_id: int | None) -> None:
        """``--resume last``: the clinic's newest job (on this connection when one is named)."""
        if self.args.resume != "last":
            return
        assert self.scope is not None
        for job in self.scope.jobs.all():
            if connection_id is None or job.connection_id == connection_id:
                self.args.resume = job.id
                return
        raise SessionError("there is no stored job to resume in this clinic (see --list-jobs)")

    async def _sign_in_if_needed(self) -> None:
        assert self.connection is not None
        conn = self.connection
        method = conn.config.auth_method
        if not method.is_smart or conn.status.is_connected:
            return
        try:
            if self.demo is not None:
                await self.demo.login(conn)
            elif method is AuthMethod.SMART_BACKEND_SERVICES:
                await conn.login_backend_services()
            elif await _token_without_browser(conn):
                return  # a workstation key registered for lasting access (fhir/registration.py)
            elif not sys.stdin.isatty() and not getattr(self.args, "print_sign_in_link", False):
                # Nobody may be there to open a link (a scheduled run): say how, at once.
                raise SessionError(self._not_signed_in(conn.config.name))
            elif sys.stdout.isatty():
                print("Signing in: a browser window opens; come back here when done.")
                await conn.login_interactive(open_url=_browser_or_print)
            else:
                await conn.login_interactive(open_url=print_url)
        except (AuthError, FhirError) as exc:
            raise SessionError(f"sign-in failed: {exc}") from exc

    def _not_signed_in(self, name: str) -> str:
        if self.args.fhir_url:
            return (
                f"{self.args.fhir_url} needs a sign-in and there is no terminal to do it in: "
                "run the batch from a terminal, or save the connection ('connection add') and "
                "sign in with 'connection sign-in --lasting'"
            )
        return not_signed_in(self.scope.tenant.name if self.scope is not None else "", name)

    def make_job(self, args: argparse.Namespace) -> BatchJob:
        assert self.store is not None and self.scope is not None and self.connection is not None
        spec: JobSpec
        if args.resume:
            job = self.scope.jobs.get(args.resume)
            if job is None:
                raise SessionError(f"no job {args.resume} in this clinic")
            spec = JobSpec.from_json(job.params["spec"])
        else:
            patients = tuple(p.strip() for p in (args.patients or "").split(",") if p.strip())
            spec = JobSpec(
                tenant_id=self.scope.id,
                connection_id=str(self.connection_id),
                clinic_date=None if (patients or args.all_patients) else self.clinic_day,
                practitioner=args.practitioner,
                location=args.location,
                patient_ids=patients,
                all_patients=bool(args.all_patients),
                as_of=args.as_of,
                write_back=bool(args.write_back),
                force=bool(args.force),
            )
        self._start_wait_watch()
        return BatchJob(
            self.store,
            spec,
            connection=self.connection,
            connection_id=self.connection_id,
            listener=_Announcer(self.progress, resumed=bool(args.resume)),
            job_id=args.resume,
            concurrency=args.concurrency,
            reconnect_timeout=0.0,  # nobody can sign in again mid-run in a terminal
            clinic_name=self.scope.tenant.name,
            tz=self.demo.clinic.time_zone if self.demo and self.demo.clinic else None,
            check_first=True,  # fhir/preflight.py: fail in one sentence before any job exists
        )

    def _start_wait_watch(self) -> None:
        """'waiting for the server (N s)' on the terminal whenever a request is slow: from the
        check before the batch to the last patient (the client knows its oldest request)."""
        if self._wait_watch is None and self.connection is not None:
            client, progress = self.connection.client, self.progress

            async def watch() -> None:
                while True:
                    await asyncio.sleep(1.0)
                    progress.waiting(client.longest_wait())

            self._wait_watch = asyncio.get_running_loop().create_task(watch())

    async def _stop_wait_watch(self) -> None:
        if self._wait_watch is not None:
            self._wait_watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._wait_watch
            self._wait_watch = None
            self.progress.waiting(0.0)

    async def measure_reports(self, summary: BatchSummary, year: int, out: Path) -> None:
        from healthprep_desktop.workers.measure_mode import describe, write_measure_reports

        assert self.scope is not None and self.connection_id is not None
        scope, connection_id = self.scope, self.connection_id
        patients = _job_patients(scope, summary.job_id)
        run = await asyncio.to_thread(
            write_measure_reports, scope, connection_id, patients, year, out
        )
        for line in describe(run, out):
            print(line)

    async def gaps_in_care(
        self, summary: BatchSummary, year: int, out: Path, *, post: bool, as_of: date | None
    ) -> None:
        from healthprep_desktop.workers.gaps_cli import describe_and_post

        assert self.scope is not None and self.connection_id is not None
        patients = _job_patients(self.scope, summary.job_id)
        connection = self.connection if post else None
        # Prospective gaps are judged on the batch's screening day, as the sheets were.
        day = as_of or summary.clinic_day
        for line in await describe_and_post(
            self.scope, self.connection_id, patients, year, out, connection, as_of=day
        ):
            print(line)

    async def export(
        self, summary: BatchSummary, *, out: Path | None, json_path: Path | None
    ) -> None:
        await asyncio.to_thread(self._export, summary, out, json_path)

    def _export(self, summary: BatchSummary, out: Path | None, json_path: Path | None) -> None:
        from healthprep_desktop.workers.exports import (
            newest_sheets,
            write_pdfs,
            write_results_json,
        )

        assert self.scope is not None
        scope = self.scope
        wanted = newest_sheets(scope, summary, _job_patients(scope, summary.job_id))
        if out is not None:
            try:
                count = write_pdfs(scope, summary, wanted, out)
            except OSError as exc:
                raise ExportError(exc, f"writing the PDF files to {out}", summary.job_id) from exc
            print(f"Wrote {count} prep sheets and the day's PDF to {out}")
        if json_path is not None:
            try:
                count = write_results_json(
                    scope, summary, wanted, json_path, summary_to_json(summary)
                )
            except OSError as exc:
                raise ExportError(exc, f"writing {json_path}", summary.job_id) from exc
            print(f"Wrote results for {count} patients to {json_path}")


class ExportError(Exception):
    """An export could not be written (disk full, permissions...): the sheets are stored."""

    def __init__(self, cause: OSError, what: str, job_id: int) -> None:
        from healthprep_desktop.workers.private_files import environment_failure

        super().__init__(
            environment_failure(cause, what)
            + f" The prepared sheets are stored: 'batch --resume {job_id}' with --out/--json "
            "writes them again."
        )


class _Announcer:
    """Says the job's number as soon as the store has given it, before the first patient: a
    crash or a kill after that point leaves the user knowing what to ``--resume``."""

    def __init__(self, inner: Listener, *, resumed: bool) -> None:
        self.inner = inner
        self.resumed = resumed
        self.said = False

    def __call__(self, event: Event) -> None:
        if not self.said and event.job_id not in ("", "new"):
            self.said = True
            job = event.job_id
            verb = "resumed" if self.resumed else "started"
            _say(f"Job {job} {verb} (resume with --resume {job})")
        self.inner(event)


def _say(text: str) -> None:
    print(text, flush=True)


def not_signed_in(tenant: str, name: str) -> str:
    """The sentence for a saved connection nobody has signed in to."""
    return (
        f"the connection {name!r} has no authorization (nobody is signed in): run "
        f"'healthprep-desktop connection sign-in --tenant {shlex.quote(tenant)} "
        f"--connection {shlex.quote(name)} --lasting' once, then run the batch again"
    )


async def _token_without_browser(conn: FhirConnection) -> bool:
    """A token from what is stored (a refreshable sign-in, a registered workstation key)."""
    try:
        await conn.tokens.access_token()
    except ReauthenticationRequired:
        return False
    return True


def _browser_or_print(url: str) -> None:
    if not open_system_browser(url):
        print_url(url)


def _job_patients(scope: TenantScope, job_id: int) -> list[str]:
    return [p.patient_id for p in scope.jobs.patients(job_id)]


__all__ = ["ExportError", "HeadlessSession", "SessionError", "StoreError"]
