"""TLS trust and proxies of one connection.

Trust: the operating system's trust store (the `truststore` package: Windows CryptoAPI, macOS
Security framework, the distribution's CA bundle on Linux), so a clinic CA installed the usual
way is trusted; plus, per connection, an optional CA file (PEM) for a private authority that is
not installed system-wide. One SSL context per (CA file, its size and modification time) is kept
and shared by every client of that connection: building one loads the whole system store.

Proxies: the system's settings (HTTP_PROXY / HTTPS_PROXY / NO_PROXY, which httpx honours through
`trust_env`), or a per-connection proxy URL that replaces them for that connection. PAC files
are not evaluated (see `proxy_problem`).

A certificate that does not verify is explained by `explain_certificate_failure`: it fetches the
server's certificate again without verifying it (a bare TLS handshake, no HTTP request is sent)
and names its subject, issuer and the reason in one sentence.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import ssl
import threading
import urllib.request
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import truststore

from healthprep_desktop.fhir.errors import FhirError

if TYPE_CHECKING:
    from healthprep_desktop.fhir.config import ConnectionConfig

__all__ = [
    "NetworkSettings",
    "TlsSettingsError",
    "ca_file_problem",
    "certificate_sentence",
    "explain_certificate_failure",
    "find_certificate_error",
    "peer_certificate",
    "proxy_problem",
    "ssl_context",
]

log = logging.getLogger(__name__)

CA_FILE_MAX_BYTES = 4 * 1024 * 1024
_CACHE_SIZE = 32
_cache: OrderedDict[tuple[str, int, int], ssl.SSLContext] = OrderedDict()
_cache_lock = threading.Lock()


class TlsSettingsError(FhirError):
    """The connection's CA file or proxy cannot be used (the message says why and what to do)."""


# --- trust ------------------------------------------------------------------------------------


def ca_file_problem(path: str) -> str | None:
    """One sentence when `path` cannot serve as a CA file; None when it can (or is empty)."""
    if not path:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return f"The CA file {path} cannot be found: choose the clinic's CA certificate file again."
    if not os.path.isfile(path):
        return f"The CA file {path} is not a file: choose the clinic's CA certificate file."
    if st.st_size > CA_FILE_MAX_BYTES:
        return f"The CA file {path} is too large to be a certificate file (over 4 MB)."
    try:
        _load_ca(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), path)
    except TlsSettingsError as exc:
        return str(exc)
    return None


def _load_ca(ctx: ssl.SSLContext, path: str) -> None:
    try:
        with open(path, "rb") as handle:
            data = handle.read(CA_FILE_MAX_BYTES + 1)
    except OSError as exc:
        raise TlsSettingsError(
            f"The CA file {path} cannot be read ({exc.strerror or 'access denied'}): check its "
            "permissions or choose it again."
        ) from None
    try:
        if b"-----BEGIN" in data:
            ctx.load_verify_locations(cadata=data.decode("ascii", "replace"))
        else:  # a single DER certificate (.cer/.crt exported from Windows)
            ctx.load_verify_locations(cadata=data)
    except (ssl.SSLError, ValueError):
        raise TlsSettingsError(
            f"The CA file {path} holds no certificate this app can read: export the clinic's CA "
            "certificate as PEM (Base-64) or DER and choose that file."
        ) from None


def ssl_context(ca_file: str = "") -> ssl.SSLContext:
    """The shared client context: the OS trust store, plus `ca_file` when given. Cached per
    (file, size, modification time), so an edited file is picked up by the next client."""
    key = ("", 0, 0)
    if ca_file:
        try:
            st = os.stat(ca_file)
        except OSError:
            raise TlsSettingsError(ca_file_problem(ca_file) or "The CA file is missing.") from None
        key = (os.path.abspath(ca_file), st.st_size, st.st_mtime_ns)
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    ctx = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_file:
        _load_ca(ctx, ca_file)
    with _cache_lock:
        _cache[key] = ctx
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return ctx


# --- proxies ----------------------------------------------------------------------------------


def proxy_problem(url: str) -> str | None:
    """One sentence when `url` cannot be a connection's proxy; None when it can (or is empty).

    A user name or password in the address is refused: the connection settings are shown and
    logged freely, so they must hold no secret. PAC addresses are refused too: no well-kept
    library evaluates PAC for httpx (pypac is built on requests and a JavaScript engine);
    give the proxy the PAC file names for the EHR's address, or rely on the system settings."""
    if not url:
        return None
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        return "The proxy is not a valid address: write it as http://proxy.clinic.local:3128."
    if parsed.path.lower().endswith((".pac", ".dat")):
        return (
            "A proxy auto-config (PAC) file cannot be used here: enter the proxy it names for "
            "the EHR, such as http://proxy.clinic.local:3128."
        )
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return "The proxy must start with http:// (or https://) and name a server and port."
    if parsed.userinfo:
        return (
            "The proxy address cannot hold a user name or password (they would be stored in "
            "plain settings): use a proxy that lets this workstation through without them."
        )
    if parsed.path not in ("", "/") or parsed.query or parsed.fragment:
        return "The proxy address is only a scheme, a server and a port, like http://proxy:3128."
    return None


# --- one connection ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NetworkSettings:
    """What the HTTP client of a connection needs: whom to trust and which proxy to use."""

    ca_file: str = ""
    proxy: str = ""  # "" = the system's proxy settings

    @classmethod
    def of(cls, config: ConnectionConfig) -> NetworkSettings:
        return cls(ca_file=config.ca_file, proxy=config.proxy)

    def ssl_context(self) -> ssl.SSLContext:
        return ssl_context(self.ca_file)

    def proxy_url(self) -> str | None:
        """The per-connection proxy, or None for the system's settings (trust_env)."""
        if not self.proxy:
            return None
        problem = proxy_problem(self.proxy)
        if problem:
            raise TlsSettingsError(problem)
        return self.proxy

    def problem(self) -> str | None:
        """Why the CA file or the proxy cannot be used; None when both can."""
        return ca_file_problem(self.ca_file) or proxy_problem(self.proxy)

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for httpx.AsyncClient. Never raises: opening a connection whose CA
        file has gone must not fail with a traceback. An unusable CA file leaves the OS trust
        store alone (a private-CA server then fails to verify, and `explain_certificate_failure`
        names the file); an unusable proxy leaves the system's settings. Both are logged."""
        try:
            context = self.ssl_context()
        except TlsSettingsError as exc:
            log.warning("%s", exc)
            context = ssl_context("")
        try:
            proxy = self.proxy_url()
        except TlsSettingsError as exc:
            log.warning("%s", exc)
            proxy = None
        return {"verify": context, "proxy": proxy, "trust_env": True}


# --- explaining a certificate that does not verify --------------------------------------------


def find_certificate_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _system_proxy(scheme: str, host: str) -> str | None:
    if urllib.request.proxy_bypass(host):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(scheme) or proxies.get("all") or None


async def peer_certificate(
    host: str, port: int, *, proxy: str | None = None, seconds: float = 5.0
) -> bytes | None:
    """The DER certificate `host` presents, fetched without verifying it (only a TLS handshake,
    no request), through an http:// proxy when given; None when it cannot be had."""
    unverified = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(seconds):
            if proxy:
                target = httpx.URL(proxy)
                if target.scheme != "http" or not target.host:
                    return None
                reader, writer = await asyncio.open_connection(target.host, target.port or 80)
                authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                writer.write(
                    f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode("ascii")
                )
                await writer.drain()
                status = await reader.readline()
                if status.split(b" ")[1:2] != [b"200"]:
                    return None
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                await writer.start_tls(unverified, server_hostname=host)
            else:
                _, writer = await asyncio.open_connection(
                    host, port, ssl=unverified, server_hostname=host
                )
            ssl_object = writer.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
            return der if isinstance(der, bytes) else None
    except (OSError, ssl.SSLError, TimeoutError, ValueError, IndexError, httpx.InvalidURL):
        return None
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def _name(name: Any) -> str:
    from cryptography.x509.oid import NameOID

    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.ORGANIZATION_NAME):
        values = name.get_attributes_for_oid(oid)
        if values:
            return str(values[0].value)
    return str(name.rfc4514_string()) or "no name"


def _reason(err: ssl.SSLCertVerificationError, cert: Any, host: str) -> str:
    code = getattr(err, "verify_code", None)
    message = str(getattr(err, "verify_message", "") or err.reason or err).lower()
    now = dt.datetime.now(dt.UTC)
    if cert is not None and cert.not_valid_after_utc < now:
        return (
            f"expired on {cert.not_valid_after_utc:%Y-%m-%d}: the server's administrator must "
            "renew it"
        )
    if cert is not None and cert.not_valid_before_utc > now:
        return (
            f"is not valid before {cert.not_valid_before_utc:%Y-%m-%d}: check this computer's "
            "date and time"
        )
    if code == 62 or "hostname mismatch" in message or "not valid for" in message:
        return f"is not issued for {host}: check the host name in the FHIR base URL"
    if code == 23 or "revoked" in message:
        return "has been revoked: the server's administrator must replace it"
    return "is not trusted: add the clinic's CA file to this connection"


def certificate_sentence(err: ssl.SSLCertVerificationError, der: bytes | None, host: str) -> str:
    """One sentence for a certificate that did not verify: whose, issued by whom, why, and what
    to do. `der` is the server's certificate when it could be fetched."""
    cert = None
    if der:
        from cryptography import x509

        with contextlib.suppress(ValueError):
            cert = x509.load_der_x509_certificate(der)
    if cert is None:
        who = f"the certificate of {host}"
    else:
        subject, issuer = _name(cert.subject), _name(cert.issuer)
        if subject == issuer:
            who = f"the certificate of {host} (CN={subject}, self-signed)"
        else:
            who = f"the certificate of {host} (CN={subject}, issued by {issuer})"
    sentence = f"{who} {_reason(err, cert, host)}."
    return sentence[0].upper() + sentence[1:]


async def explain_certificate_failure(
    exc: BaseException, url: str, settings: NetworkSettings | None = None, *, seconds: float = 5.0
) -> str | None:
    """The sentence naming the server's certificate when `exc` (or its cause) is a failed
    certificate verification; None for any other failure."""
    err = find_certificate_error(exc)
    if err is None:
        return None
    problem = ca_file_problem(settings.ca_file) if settings else None
    if problem:
        return problem
    target = httpx.URL(url)
    host = target.host or url
    port = target.port or 443
    proxy = (settings.proxy if settings else "") or _system_proxy("https", host)
    der = await peer_certificate(host, port, proxy=proxy or None, seconds=seconds)
    return certificate_sentence(err, der, host)
