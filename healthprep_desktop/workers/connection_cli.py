"""``healthprep-desktop connection``: set up and check EHR connections without the window.

    connection list [--tenant T]
    connection show --tenant T --connection N
    connection add --tenant T --name N --base-url URL --auth smart-backend --client-id ID
    connection key make|show|import --tenant T --connection N
    connection test --tenant T --connection N
    connection sign-in --tenant T --connection N [--lasting] [--no-browser]
    connection sign-out --tenant T --connection N

Secrets never go on the command line: a client secret, password or API key comes from the
environment (HEALTHPREP_CLIENT_SECRET, HEALTHPREP_PASSWORD, HEALTHPREP_API_KEY), which the
process empties at start. Every change is audited (connection_change) without secrets.

Exit codes: 0 done; 1 ``test`` ran and the connection does not work; 2 the command could not
run (bad arguments, no such clinic or connection, the store could not be opened).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from healthprep_desktop.workers.connection_keys import Refusal

EXIT_OK, EXIT_NOT_WORKING, EXIT_ERROR = 0, 1, 2

# --auth value -> (AuthMethod value, the secret kind it needs, the variable that gives it)
_AUTH: dict[str, tuple[str, str | None, str | None]] = {
    "smart": ("smart_public_pkce", None, None),
    "smart-backend": ("smart_backend_services", None, None),
    "smart-confidential-basic": ("smart_confidential_basic", "client_secret", "CLIENT_SECRET"),
    "smart-confidential-post": ("smart_confidential_post", "client_secret", "CLIENT_SECRET"),
    "basic": ("basic", "password", "PASSWORD"),
    "api-key": ("api_key", "api_key", "API_KEY"),
    "none": ("none", None, None),
}
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # FHIR's id datatype
_VENDORS = {
    "epic": "epic",
    "oracle-health": "oracle_health",
    "cerner": "oracle_health",
    "athenahealth": "athenahealth",
    "generic": "generic",
}


@dataclass(frozen=True, slots=True)
class Opened:
    store: Any  # Store
    scope: Any  # TenantScope
    connection: Any  # store Connection row


def register(subparsers: Any) -> None:
    from healthprep_desktop.store.cli import add_unlock_option

    group = subparsers.add_parser(
        "connection", help="list, add, test EHR connections; backend-services keys (JWKS)"
    )
    actions = group.add_subparsers(dest="connection_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the connections of each clinic (or one clinic)")
    show = actions.add_parser("show", help="one connection's settings and status (no secrets)")
    add = actions.add_parser("add", help="add a connection to a clinic")
    add.add_argument("--name", required=True, help="a name for the connection, e.g. 'Epic'")
    add.add_argument("--base-url", required=True, help="the FHIR base URL (https://...)")
    add.add_argument("--auth", required=True, choices=sorted(_AUTH), help="how to sign in")
    add.add_argument("--client-id", default="", help="the app's client id at the EHR (SMART)")
    add.add_argument("--vendor", choices=sorted(_VENDORS), default="generic")
    add.add_argument("--scopes", default="", help="space-separated scopes (default: the preset)")
    add.add_argument("--redirect-port", type=int, default=None, help="fixed loopback port")
    add.add_argument("--username", default="", help="with --auth basic")
    add.add_argument("--api-key-header", default="X-API-Key", help="with --auth api-key")
    add.add_argument(
        "--ca-file", default="", help="a private CA's certificate (PEM) to trust for this EHR"
    )
    add.add_argument(
        "--proxy", default="", help="http(s)://host:port for this EHR (default: the system's)"
    )
    add.add_argument(
        "--practice-id",
        default="",
        help="athenahealth: the practice id (sent as ah-practice on schedule and patient searches)",
    )
    add.add_argument(
        "--panel-group",
        default="",
        help="the id of the Group the EHR made for this app's patients (Bulk Data): reruns "
        "export it to learn which charts changed",
    )
    test = actions.add_parser("test", help="check metadata, SMART discovery and a sample read")
    sign_in = actions.add_parser(
        "sign-in", help="sign in through the browser (prints the link; --lasting: no browser later)"
    )
    from healthprep_desktop.workers.sign_in_cli import add_arguments as sign_in_arguments

    sign_in_arguments(sign_in)
    sign_out = actions.add_parser("sign-out", help="forget the connection's stored sign-in")
    key = actions.add_parser("key", help="the backend-services key pair: make, show, import")
    key_actions = key.add_subparsers(dest="key_command", metavar="ACTION", required=True)
    make = key_actions.add_parser("make", help="generate a key pair (private half stays here)")
    make.add_argument("--alg", choices=("RS384", "ES384"), default="RS384")
    make.add_argument("--replace", action="store_true", help="replace an existing key")
    key_show = key_actions.add_parser("show", help="print the public JWK Set to register")
    imp = key_actions.add_parser("import", help="use an existing PEM private key")
    imp.add_argument("--file", required=True, type=_path, help="PEM private key (mode 0600)")
    imp.add_argument("--kid", help="key id registered with the EHR (default: the thumbprint)")
    imp.add_argument("--replace", action="store_true", help="replace an existing key")
    for p in (show, test, sign_in, sign_out, make, key_show, imp):
        p.add_argument("--connection", required=True, help="connection name or id")
    for p in (listing, show, add, test, sign_in, sign_out, make, key_show, imp):
        p.add_argument("--tenant", help="clinic (tenant) id or name (needed with several)")
        add_unlock_option(p)
    listing.set_defaults(func=_guarded(run_list))
    show.set_defaults(func=_guarded(run_show))
    add.set_defaults(func=_guarded(run_add))
    test.set_defaults(func=_guarded(run_test))
    sign_in.set_defaults(func=_guarded(_with_connection(_sign_in)))
    sign_out.set_defaults(func=_guarded(run_sign_out))
    make.set_defaults(func=_guarded(_with_connection(_key_make)))
    key_show.set_defaults(func=_guarded(_with_connection(_key_show)))
    imp.set_defaults(func=_guarded(_with_connection(_key_import)))


def _path(text: str) -> Any:
    from pathlib import Path

    return Path(text).expanduser()


Handler = Callable[[argparse.Namespace], int]


def _guarded(handler: Handler) -> Handler:
    def run(args: argparse.Namespace) -> int:
        try:
            code = handler(args)
        except Refusal as exc:
            if str(exc):
                print(str(exc), file=sys.stderr)
            return EXIT_ERROR
        return code

    return run


# --- finding the clinic and the connection ---------------------------------------------------


def _open_store(args: argparse.Namespace, *, create: bool = False) -> Any:
    from healthprep_desktop.store.cli import open_for_cli

    store = open_for_cli(args, create=create)
    if store is None:
        raise Refusal("")  # open_for_cli has said why
    return store


def _tenants(store: Any, wanted: str | None, *, one: bool) -> list[Any]:
    tenants = store.tenants()
    if not tenants:
        raise Refusal(
            "No clinic is set up yet: add a connection with 'connection add --tenant NAME ...' "
            "(it creates the clinic) or open the app."
        )
    if wanted:
        chosen = [t for t in tenants if wanted in (t.id, t.name)]
        if not chosen:
            raise Refusal(f"No clinic called {wanted!r} in the local store.")
        return chosen
    if one and len(tenants) > 1:
        raise Refusal("Several clinics are set up: say which with --tenant.")
    return list(tenants)


def _find_connection(scope: Any, wanted: str) -> Any:
    for conn in scope.connections.all():
        if wanted in (str(conn.id), conn.name):
            return conn
    raise Refusal(f"No connection called {wanted!r} in this clinic; 'connection list' shows them.")


def _with_connection(action: Callable[[Opened, argparse.Namespace], int]) -> Handler:
    def run(args: argparse.Namespace) -> int:
        store = _open_store(args)
        with store:
            (tenant,) = _tenants(store, args.tenant, one=True)
            scope = store.tenant(tenant.id)
            opened = Opened(store, scope, _find_connection(scope, args.connection))
            code = action(opened, args)
        return code

    return run


# --- list, show --------------------------------------------------------------------------------


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "never"


def run_list(args: argparse.Namespace) -> int:
    from healthprep_desktop.fhir.status_store import load_last_status

    store = _open_store(args)
    with store:
        tenants = _tenants(store, args.tenant, one=False)
        for tenant in tenants:
            scope = store.tenant(tenant.id)
            rows = scope.connections.all()
            if len(tenants) > 1 or not rows:
                print(f"{tenant.name}:" + ("" if rows else " no connections"))
            for c in rows:
                sync, error = load_last_status(store, tenant.id, c.id)
                method = c.config.get("auth_method", "smart_public_pkce")
                state = "" if c.enabled else "\tdisabled"
                print(
                    f"{c.id}\t{c.name}\t{c.vendor}\t{method}\t{c.base_url}\t"
                    f"last sync {_when(sync)}" + (f"\tlast error: {error}" if error else "") + state
                )
    return EXIT_OK


def run_show(args: argparse.Namespace) -> int:
    return _with_connection(_show)(args)


def _show(opened: Opened, args: argparse.Namespace) -> int:
    from healthprep_desktop.fhir.credentials import load_backend_key
    from healthprep_desktop.fhir.status_store import load_last_status
    from healthprep_desktop.fhir.store_adapters import StoreSecrets, config_from_store
    from healthprep_desktop.store.repos.connection_secrets import TOKENS_SECRET

    config = config_from_store(opened.connection)
    names = set(opened.scope.secrets.names(opened.connection.id))
    sync, error = load_last_status(opened.store, opened.scope.id, opened.connection.id)
    lines = [
        f"Connection {opened.connection.id}: {config.name} ({config.vendor.value})",
        f"FHIR base URL: {config.base_url}",
        f"Sign-in: {config.auth_method.value}"
        + (f", client id {config.client_id}" if config.client_id else ""),
        f"Scopes: {' '.join(config.scopes) or '(none)'}",
        f"Enabled: {'yes' if config.enabled else 'no'}; priority {config.priority}",
        "Trust: the system's trust store" + (f" and {config.ca_file}" if config.ca_file else ""),
        f"Proxy: {config.proxy or 'the system settings'}",
        f"Signed in: {'yes (a sign-in is stored)' if TOKENS_SECRET in names else 'no'}",
        f"Last sync: {_when(sync)}",
        f"Last error: {error or 'none'}",
    ]
    if config.auth_method.value == "smart_backend_services":
        key = load_backend_key(
            StoreSecrets(opened.store), config.secret_key(opened.scope.id, "private_key")
        )
        lines.append(
            f"Backend key: {key.algorithm}, kid {key.kid}"
            if key
            else "Backend key: none yet ('connection key make')"
        )
    if "registration" in names:
        from healthprep_desktop.fhir.registration import load_registration

        reg = load_registration(StoreSecrets(opened.store), config, opened.scope.id)
        if reg is not None:
            state = "revoked by the EHR: sign in again" if reg.revoked else "registered"
            lines.append(f"Lasting access: workstation key {reg.key.kid} {state}")
    for kind in ("client_secret", "password", "api_key"):
        if kind in names:
            lines.append(f"A {kind.replace('_', ' ')} is stored (not shown).")
    print("\n".join(lines))
    return EXIT_OK


# --- add ---------------------------------------------------------------------------------------


def _add_config(args: argparse.Namespace) -> tuple[Any, str | None, str | None]:
    """(ConnectionConfig, secret kind, secret value) for ``connection add``, or a Refusal."""
    from healthprep_desktop.fhir.config import AuthMethod, ConnectionConfig, RedirectConfig, Vendor
    from healthprep_desktop.fhir.presets import preset_for, system_read_scopes
    from healthprep_desktop.fhir.urls import fhir_url_problem
    from healthprep_desktop.workers.env_secrets import env_secret

    name = args.name.strip()
    if not name or "/" in name:
        raise Refusal("Give the connection a name without '/', e.g. --name 'Epic production'.")
    problem = fhir_url_problem(args.base_url)
    if problem:
        raise Refusal(problem)
    method_value, kind, variable = _AUTH[args.auth]
    method = AuthMethod(method_value)
    if method.is_smart and not args.client_id.strip():
        raise Refusal(f"--auth {args.auth} needs --client-id (the id the EHR gave this app).")
    if method is AuthMethod.BASIC and not args.username.strip():
        raise Refusal("--auth basic needs --username; the password comes from HEALTHPREP_PASSWORD.")
    secret = None
    if kind is not None:
        secret = env_secret(f"HEALTHPREP_{variable}")
        if not secret:
            raise Refusal(
                f"--auth {args.auth} needs a {kind.replace('_', ' ')}: set HEALTHPREP_{variable} "
                "in the environment (never on the command line)."
            )
    from healthprep_desktop.fhir.tls import ca_file_problem, proxy_problem

    ca_file = str(_path(args.ca_file).resolve()) if args.ca_file.strip() else ""
    if problem := ca_file_problem(ca_file) or proxy_problem(args.proxy.strip()):
        raise Refusal(problem)
    if args.redirect_port is not None and not 0 <= args.redirect_port <= 65535:
        raise Refusal("--redirect-port takes a port number from 1 to 65535 (0: any free port).")
    vendor = Vendor(_VENDORS[args.vendor])
    if args.practice_id.strip() and vendor is not Vendor.ATHENAHEALTH:
        raise Refusal("--practice-id is for athenahealth connections (--vendor athenahealth).")
    panel_group = args.panel_group.strip()
    if panel_group and not _FHIR_ID.fullmatch(panel_group):
        raise Refusal("--panel-group takes the Group's FHIR id: letters, digits, '-' and '.'.")
    preset = preset_for(vendor)
    scopes = tuple(args.scopes.split())
    if not scopes and method is AuthMethod.SMART_BACKEND_SERVICES:
        write = ("system/DocumentReference.write",)
        scopes = (*system_read_scopes(), *write)
    elif not scopes and method.is_smart:
        scopes = preset.scopes
    config = ConnectionConfig(
        name=name,
        base_url=args.base_url.strip(),
        vendor=vendor,
        auth_method=method,
        client_id=args.client_id.strip(),
        scopes=scopes,
        redirect=RedirectConfig(
            port=preset.fixed_redirect_port if args.redirect_port is None else args.redirect_port
        ),
        username=args.username.strip(),
        api_key_header=args.api_key_header.strip() or "X-API-Key",
        ca_file=ca_file,
        proxy=args.proxy.strip(),
        practice_id=args.practice_id.strip(),
        panel_group_id=panel_group,
    )
    return config, kind, secret


def run_add(args: argparse.Namespace) -> int:
    from healthprep_desktop.fhir.store_adapters import StoreSecrets, config_for_store
    from healthprep_desktop.store import AuditAction

    config, kind, secret = _add_config(args)  # before the store: bad input costs nothing
    store = _open_store(args, create=True)
    with store:
        if not store.tenants() and args.tenant:
            created = store.create_tenant(args.tenant)
            print(f"Created the clinic {created.name!r}.")
        (tenant,) = _tenants(store, args.tenant, one=True)
        scope = store.tenant(tenant.id)
        taken = {c.name.casefold() for c in scope.connections.all()}
        if config.name.casefold() in taken:
            raise Refusal(f"This clinic already has a connection named {config.name!r}.")
        with store.transaction():
            row = scope.connections.add(
                config.name,
                config.vendor.value,
                config.base_url,
                config=config_for_store(config),
                enabled=config.enabled,
                priority=config.priority,
            )
            if kind is not None and secret:
                StoreSecrets(store).set(config.secret_key(scope.id, kind), secret)
            scope.audit(AuditAction.CONNECTION_CHANGE, detail=f"added: {config.name}")
    print(f"Added connection {row.id}: {config.name} ({config.auth_method.value}).")
    if config.auth_method.value == "smart_backend_services":
        print(
            "Next: 'healthprep-desktop connection key make --connection "
            f"{_quoted(config.name)}', then register the JWKS from 'connection key show'."
        )
    return EXIT_OK


def _quoted(text: str) -> str:
    import shlex

    return shlex.quote(text)


# --- keys -------------------------------------------------------------------------------------


def _key_make(opened: Opened, args: argparse.Namespace) -> int:
    from healthprep_desktop.workers.connection_keys import make_key

    print(make_key(opened, args))
    return EXIT_OK


def _key_show(opened: Opened, args: argparse.Namespace) -> int:
    from healthprep_desktop.workers.connection_keys import show_jwks

    print(show_jwks(opened))
    return EXIT_OK


def _key_import(opened: Opened, args: argparse.Namespace) -> int:
    from healthprep_desktop.workers.connection_keys import import_key

    print(import_key(opened, args))
    return EXIT_OK


# --- test, sign-out ----------------------------------------------------------------------------


def run_test(args: argparse.Namespace) -> int:
    return _with_connection(_test)(args)


def _test(opened: Opened, args: argparse.Namespace) -> int:
    from healthprep_desktop.fhir.diagnose import FAILED, OK

    diagnosis = asyncio.run(_diagnose(opened))
    marks = {OK: "ok", FAILED: "FAILED"}
    for check in diagnosis.checks:
        print(f"{marks.get(check.result, check.result)}\t{check.name}\t{check.message}")
    print(diagnosis.summary())
    return EXIT_OK if diagnosis.ok else EXIT_NOT_WORKING


async def _diagnose(opened: Opened) -> Any:
    from healthprep_desktop.fhir.diagnose import check_connection
    from healthprep_desktop.fhir.errors import FhirError
    from healthprep_desktop.workers.connections import open_connection

    live = open_connection(opened.store, opened.scope.id, opened.connection.id)
    try:
        return await check_connection(live)
    except (FhirError, OSError, ValueError) as exc:
        raise Refusal(f"The test could not run: {exc}") from None
    finally:
        await live.aclose()


def _sign_in(opened: Opened, args: argparse.Namespace) -> int:
    from healthprep_desktop.workers.sign_in_cli import sign_in

    return sign_in(opened, args)


def run_sign_out(args: argparse.Namespace) -> int:
    return _with_connection(_sign_out)(args)


def _sign_out(opened: Opened, args: argparse.Namespace) -> int:
    from healthprep_desktop.fhir.registration import LastingAccess
    from healthprep_desktop.fhir.store_adapters import StoreSecrets
    from healthprep_desktop.workers.connections import open_connection

    live = open_connection(opened.store, opened.scope.id, opened.connection.id)
    live.logout()  # clears the stored tokens and audits the disconnect
    # A registered workstation key would sign straight back in: it goes too.
    registered = LastingAccess(live, StoreSecrets(opened.store)).forget()
    asyncio.run(live.aclose())
    also = " and this workstation's registered key" if registered else ""
    print(f"Signed out of {opened.connection.name!r}: its stored sign-in{also} is forgotten.")
    return EXIT_OK


__all__ = ["register"]
