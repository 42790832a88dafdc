"""``healthprep-desktop sandbox``: serve the demo clinic (or imported bundles) on loopback.

It prints the FHIR base URL of every organization and the client registrations to use (the
demo secrets are sandbox-only values), then serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

from healthprep_desktop.sandbox.config import (
    ClientAuth,
    ClinicSource,
    FaultConfig,
    LinkStyle,
    OrgConfig,
    SandboxConfig,
    TokenSettings,
    demo_clients,
)
from healthprep_desktop.sandbox.profiles import (
    DEFAULT_PROFILE,
    PROFILE_NAMES,
    apply_profile,
    profile_named,
)

CLINIC_MODULE = "healthprep_desktop.sandbox.clinic"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="run the embedded SMART-on-FHIR sandbox (the demo clinic)",
        description="Serve a synthetic clinic (or imported FHIR bundles) over SMART on FHIR "
        "on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument("--patients", type=int, default=500, help="synthetic clinic size")
    parser.add_argument("--seed", type=int, default=42, help="data and fault seed")
    parser.add_argument(
        "--date",
        type=date.fromisoformat,
        default=None,
        help="clinic day to prepare the schedule for (YYYY-MM-DD; default today)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--org",
        action="append",
        default=None,
        metavar="NAME",
        help="organization id (repeat for several; each gets its own data and clients)",
    )
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        type=Path,
        default=None,
        metavar="DIR",
        help="import FHIR bundles from a folder or file instead of the synthetic clinic",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=float, default=None, help="requests per second")
    parser.add_argument("--max-concurrent", type=int, default=None)
    parser.add_argument("--error-rate", type=float, default=0.0, help="fraction answered 5xx")
    parser.add_argument("--malformed", type=float, default=0.0, help="fraction of bad resources")
    parser.add_argument(
        "--token-lifetime",
        type=float,
        default=None,
        help="access token seconds (default: the profile's, 3600 for generic)",
    )
    parser.add_argument(
        "--profile",
        choices=PROFILE_NAMES,
        default=DEFAULT_PROFILE,
        help="behave like this kind of server: generic (everything), us-core (US Core SHALL "
        "searches only), epic-like, oracle-like, athena-like; a profile's rate limit applies "
        "unless --rate-limit is given (0 = none)",
    )
    parser.add_argument(
        "--link-style", choices=[s.value for s in LinkStyle], default=LinkStyle.ABSOLUTE.value
    )
    parser.add_argument(
        "--consent",
        action="store_true",
        help="show the login and consent page instead of approving automatically",
    )
    parser.add_argument(
        "--backend-jwks",
        default=None,
        metavar="FILE_OR_URL",
        help="register a backend-services client with this public JWK Set",
    )
    parser.set_defaults(func=run)
    from healthprep_desktop.sandbox.launch import register as register_launch

    register_launch(parser)  # sandbox launch --patient ID: an EHR launch of a running sandbox


def synthetic_clinic(seed: int, patients: int) -> ClinicSource | None:
    """The generator's clinic, or None when the generator is not installed."""
    try:
        module = importlib.import_module(CLINIC_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != CLINIC_MODULE:
            raise
        return None
    clinic: ClinicSource = module.SyntheticClinic(seed=seed, patients=patients)
    return clinic


def build_config(args: argparse.Namespace) -> SandboxConfig:
    jwks: dict[str, Any] | None = None
    jwks_url: str | None = None
    if args.backend_jwks:
        if str(args.backend_jwks).startswith(("http://", "https://")):
            jwks_url = str(args.backend_jwks)
        else:
            jwks = json.loads(Path(args.backend_jwks).read_text(encoding="utf-8"))
    orgs: list[OrgConfig] = []
    for n, org_id in enumerate(args.org or ["demo"]):
        org = OrgConfig(org_id, name=f"{org_id} (HealthPrep sandbox)")
        org.clients = demo_clients(jwks, jwks_url)
        if args.imports:
            org.import_paths = list(args.imports)
        else:
            source = synthetic_clinic(args.seed + n, args.patients)
            if source is None:
                raise SystemExit(
                    "The synthetic clinic generator is not installed; use --import DIR "
                    "(e.g. ../shared/synthea/bundles)."
                )
            org.source = source
        orgs.append(org)
    config = SandboxConfig(
        orgs=orgs,
        auto_approve=not args.consent,
        tokens=TokenSettings(),
        faults=FaultConfig(
            seed=args.seed,
            latency_ms=args.latency_ms,
            jitter_ms=args.jitter_ms,
            rate_limit=args.rate_limit,
            max_concurrent=args.max_concurrent,
            error_rate=args.error_rate,
            malformed_fraction=args.malformed,
        ),
        link_style=LinkStyle(args.link_style),
        host=args.host,
        port=args.port,
    )
    profile = getattr(args, "profile", DEFAULT_PROFILE)
    apply_profile(config, profile, rate_limit=args.rate_limit is None)
    if args.token_lifetime is not None:
        config.tokens.access_token_lifetime = args.token_lifetime
    if args.rate_limit is not None:  # explicit, and 0 turns the limit off
        config.faults.rate_limit = args.rate_limit or None
    return config


def describe(server: Any, day: date, appointments: dict[str, int]) -> str:
    """The banner: where each organization lives and how to sign in (no patient data)."""
    lines = [f"HealthPrep sandbox at {server.url}  (Ctrl-C stops it)"]
    profile = profile_named(server.config.profile)
    lines.append(f"Server profile: {profile.name} ({profile.title})")
    if server.config.faults.rate_limit:
        lines.append(f"Rate limit: {server.config.faults.rate_limit:g} requests/s (429)")
    lines.append("")
    for org_config in server.config.orgs:
        org = server.org(org_config.org_id)
        lines += [
            f"Organization {org_config.org_id!r}: {org.store.count('Patient')} patients, "
            f"{org.store.count()} resources; {appointments[org_config.org_id]} appointments "
            f"on {day.isoformat()}",
            f"  FHIR base      {server.base_url(org_config.org_id)}",
            f"  authorize      {server.authorize_url(org_config.org_id)}",
            f"  token          {server.token_url(org_config.org_id)}",
        ]
    lines += ["", "Clients (the same in every organization):"]
    for client in server.config.orgs[0].clients:
        rule = ", ".join(client.redirect_uris) or "-"
        lines.append(f"  {client.client_id:30} {client.auth_method.value}")
        if client.redirect_uris:
            lines.append(f"    redirect URIs: {rule} (loopback: any port)")
        if client.auth_method in (ClientAuth.SECRET_BASIC, ClientAuth.SECRET_POST):
            lines.append(f"    secret (sandbox only): {client.secret}")
        if client.auth_method is ClientAuth.PRIVATE_KEY_JWT:
            lines.append("    assertion: RS384 or ES384, aud = the token URL")
    consent = "automatic" if server.config.auto_approve else "login page"
    users = ", ".join(f"{u.username}/{u.password}" for u in server.config.orgs[0].users)
    lines += ["", f"Approval: {consent}; demo login: {users}"]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from healthprep_desktop.sandbox.importer import NothingToImport
    from healthprep_desktop.sandbox.server import SandboxServer

    started = time.monotonic()
    print("Loading the sandbox data...", file=sys.stderr, flush=True)
    try:
        server = SandboxServer(build_config(args))
    except NothingToImport as exc:
        print(f"Cannot start the sandbox: {exc}.", file=sys.stderr)
        return 2
    for problem in server.import_problems:
        print(problem, file=sys.stderr)
    day = args.date or date.today()
    appointments = {o.org_id: server.org(o.org_id).ensure_day(day) for o in server.config.orgs}
    server.start()
    print(f"Ready in {time.monotonic() - started:.1f} s.", file=sys.stderr)
    print(describe(server, day, appointments), flush=True)
    stop = threading.Event()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
