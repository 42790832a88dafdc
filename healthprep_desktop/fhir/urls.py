"""Is a FHIR base URL acceptable? Patient data travels only over https://, except to this very
machine (loopback: 127.0.0.0/8, ::1, localhost), where a local test server or the embedded
sandbox may use plain http://.

The command line (``batch --fhir-url``, ``connection add``) asks ``fhir_url_problem`` and shows
its one sentence; nothing here needs Qt.
"""

from __future__ import annotations

import ipaddress

import httpx


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1 (bracketed or not) and the name localhost."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def fhir_url_problem(url: str) -> str | None:
    """One actionable sentence when `url` cannot be a FHIR base URL, else None."""
    text = url.strip()
    if not text:
        return "Give the FHIR base URL (the EHR's documentation or endpoint directory has it)."
    try:
        parsed = httpx.URL(text)
    except (httpx.InvalidURL, ValueError):
        return f"{text!r} is not a valid web address; give the FHIR base URL, e.g. https://fhir.example.org/R4."
    if parsed.scheme not in ("https", "http") or not parsed.host:
        return f"{text!r} is not a FHIR base URL: it must start with https:// and name a server."
    if parsed.scheme == "http" and not is_loopback_host(parsed.host):
        return (
            f"Refusing plain http:// for {parsed.host}: patient data must travel encrypted, so "
            "use the server's https:// address (plain http:// is allowed only for this machine, "
            "127.0.0.1 or localhost)."
        )
    if parsed.query or parsed.fragment:
        return "The FHIR base URL must not contain '?' or '#'; give the base address only."
    return None


__all__ = ["fhir_url_problem", "is_loopback_host"]
