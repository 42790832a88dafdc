"""``batch --explain-fetch``: the chart fetch plan, printed instead of running the batch.

With ``--demo``: one plan per server profile of the embedded sandbox (generic, us-core,
epic-like, ...), each read from that profile's CapabilityStatement, beside the naive fetch's
request count. With ``--fhir-url``: the plan for that server. Only /metadata is read (it needs
no sign-in), so nothing about a patient is asked or printed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable

import httpx

from healthprep_desktop.fhir.discovery import Capabilities, fetch_capabilities
from healthprep_desktop.fhir.errors import FhirError
from healthprep_desktop.fhir.fetch_plan import plan_fetch

Print = Callable[[str], None]


def describe(name: str, capabilities: Capabilities, out: Print) -> None:
    plan = plan_fetch(capabilities)
    naive = plan_fetch(capabilities, naive=True)
    out(f"== {name}")
    for line in plan.explain():
        out(f"  {line}")
    out(
        f"  naive fetch (every type and category, default page size): "
        f"{naive.expected_requests()} requests per chart before pages and attachments; "
        f"planned: {plan.expected_requests()}"
    )


async def _server_capabilities(base_url: str) -> Capabilities:
    async with httpx.AsyncClient(timeout=30.0) as http:
        return await fetch_capabilities(http, base_url)


def _demo_profiles(names: list[str], out: Print) -> None:
    from healthprep_desktop.sandbox import OrgConfig, SandboxConfig, SandboxServer, demo_clients
    from healthprep_desktop.sandbox.clinic import SyntheticClinic
    from healthprep_desktop.sandbox.profiles import apply_profile

    for name in names:
        org = OrgConfig("demo", clients=demo_clients(), source=SyntheticClinic(seed=7, patients=1))
        config = apply_profile(SandboxConfig(orgs=[org]), name)
        with SandboxServer(config) as server:
            caps = asyncio.run(_server_capabilities(server.base_url()))
        describe(name, caps, out)


def explain_fetch(args: argparse.Namespace, out: Print = print) -> int:
    try:
        if args.demo:
            from healthprep_desktop.sandbox.profiles import PROFILE_NAMES

            _demo_profiles(list(PROFILE_NAMES), out)
            return 0
        if args.fhir_url:
            describe(args.fhir_url, asyncio.run(_server_capabilities(args.fhir_url)), out)
            return 0
    except FhirError as exc:
        print(f"Cannot explain the fetch: {exc}", file=sys.stderr)
        return 1
    print(
        "--explain-fetch goes with --demo (every sandbox profile) or --fhir-url URL.",
        file=sys.stderr,
    )
    return 1
