"""HTTP endpoints of the authorization servers: /authorize (login and consent page, or an
immediate redirect when auto-approve is on), /token and the id_token JWKS."""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Mapping
from html import escape
from urllib.parse import parse_qsl, urlencode

from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from healthprep_desktop.sandbox.auth import AuthorizeError, AuthorizeRequest, OAuthError
from healthprep_desktop.sandbox.config import JSON, SandboxConfig, UserAccount
from healthprep_desktop.sandbox.datastore import dumps
from healthprep_desktop.sandbox.org import Organization

_PENDING_SECONDS = 600.0
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:34rem;margin:2rem auto}}
label{{display:block;margin:.5rem 0}}.error{{color:#a00}}li{{font-family:monospace}}</style>
</head><body>{body}</body></html>"""


def _redirect(uri: str, params: Mapping[str, str | None]) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    separator = "&" if "?" in uri else "?"
    return RedirectResponse(f"{uri}{separator}{query}", status_code=302, headers=_NO_STORE)


def _json(body: JSON, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(body), status, {**_NO_STORE, **(headers or {})}, "application/json")


async def _body(request: Request) -> bytes:
    try:
        return await request.body()
    except ClientDisconnect:  # nobody is left to answer; an empty form fails validation
        return b""


class AuthHttp:
    def __init__(self, config: SandboxConfig, orgs: Mapping[str, Organization]) -> None:
        self.config = config
        self.orgs = orgs
        self._pending: dict[str, tuple[str, AuthorizeRequest, float]] = {}

    def _org(self, request: Request) -> Organization | None:
        return self.orgs.get(request.path_params["org_id"])

    @staticmethod
    def _root(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    # --- /authorize ------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        org = self._org(request)
        if org is None:
            return HTMLResponse(
                _PAGE.format(title="Not found", body="<p>Unknown organization.</p>"), 404
            )
        if request.method == "POST":
            return await self._decide(request, org)
        fhir_base = f"{self._root(request)}/org/{org.org_id}/fhir"
        try:
            auth_request = org.auth.check_authorize(dict(request.query_params), fhir_base)
        except AuthorizeError as exc:
            if exc.redirect_uri is None:
                body = f"<h1>Authorization error</h1><p class=error>{escape(exc.description)}</p>"
                return HTMLResponse(_PAGE.format(title="Authorization error", body=body), 400)
            return _redirect(
                exc.redirect_uri,
                {"error": exc.error, "error_description": exc.description, "state": exc.state},
            )
        if self.config.auto_approve:
            account = org.config.users[0] if org.config.users else None
            return self._approve(org, auth_request, account, org.default_patient())
        txn = secrets.token_urlsafe(16)
        self._pending[txn] = (org.org_id, auth_request, time.monotonic() + _PENDING_SECONDS)
        return self._consent_page(org, auth_request, txn, error=None)

    def _approve(
        self,
        org: Organization,
        auth_request: AuthorizeRequest,
        account: UserAccount | None,
        patient: str | None,
    ) -> Response:
        code = org.auth.issue_code(
            auth_request,
            patient=patient,
            fhir_user=org.fhir_user(account) if account else None,
            username=account.username if account else None,
        )
        return _redirect(auth_request.redirect_uri, {"code": code, "state": auth_request.state})

    async def _decide(self, request: Request, org: Organization) -> Response:
        form = dict(parse_qsl((await _body(request)).decode("utf-8", "replace")))
        pending = self._pending.pop(form.get("txn", ""), None)
        if pending is None or pending[0] != org.org_id or pending[2] < time.monotonic():
            body = "<h1>Sign-in expired</h1><p>Start again from the application.</p>"
            return HTMLResponse(_PAGE.format(title="Sign-in expired", body=body), 400)
        _, auth_request, expires = pending
        if form.get("decision") != "approve":
            return _redirect(
                auth_request.redirect_uri,
                {
                    "error": "access_denied",
                    "error_description": "the user declined",
                    "state": auth_request.state,
                },
            )
        account = next(
            (
                u
                for u in org.config.users
                if u.username == form.get("username")
                and hmac.compare_digest(u.password.encode(), form.get("password", "").encode())
            ),
            None,
        )
        if account is None:
            txn = secrets.token_urlsafe(16)
            self._pending[txn] = (org.org_id, auth_request, expires)
            return self._consent_page(org, auth_request, txn, error="Wrong user name or password.")
        patient = form.get("patient") or org.default_patient()
        if patient is not None and org.store.get("Patient", patient) is None:
            patient = org.default_patient()
        return self._approve(org, auth_request, account, patient)

    def _consent_page(
        self, org: Organization, auth_request: AuthorizeRequest, txn: str, error: str | None
    ) -> HTMLResponse:
        client = auth_request.client
        scopes = "".join(f"<li>{escape(s)}</li>" for s in auth_request.grant.scopes)
        picker = ""
        if auth_request.grant.has("launch/patient") or auth_request.grant.has_patient_level:
            options = []
            for stored in org.store.all_of("Patient")[:200]:
                patient = stored.json()
                name = (patient.get("name") or [{}])[0]
                label = " ".join([*name.get("given", []), str(name.get("family", ""))]).strip()
                options.append(
                    f'<option value="{escape(stored.id)}">{escape(label or stored.id)} '
                    f"({escape(str(patient.get('birthDate', '')))})</option>"
                )
            picker = f"<label>Patient <select name=patient>{''.join(options)}</select></label>"
        message = f"<p class=error>{escape(error)}</p>" if error else ""
        body = f"""<h1>{escape(org.config.name)}</h1>
<p><b>{escape(client.name or client.client_id)}</b> asks for access:</p><ul>{scopes}</ul>
{message}<form method=post>
<input type=hidden name=txn value="{escape(txn)}">
<label>User name <input name=username autocomplete=username></label>
<label>Password <input name=password type=password autocomplete=current-password></label>
{picker}
<button name=decision value=approve>Allow</button>
<button name=decision value=deny>Deny</button></form>"""
        return HTMLResponse(_PAGE.format(title="Sign in", body=body), 401 if error else 200)

    # --- /token and /jwks ------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        info: dict[str, str] = request.scope.get("sandbox") or {}
        info["interaction"] = "token"
        org = self._org(request)
        if org is None:
            return _json(
                {"error": "invalid_request", "error_description": "unknown organization"}, 404
            )
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            error = OAuthError("invalid_request", "the body must be form-encoded")
            return _json(error.body(), error.status)
        raw = await _body(request)
        pairs = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
        form = dict(pairs)
        if len(form) != len(pairs):
            error = OAuthError("invalid_request", "a parameter was sent more than once")
            return _json(error.body(), error.status)
        root = self._root(request)
        try:
            body = await org.auth.token(
                form,
                request.headers.get("authorization"),
                token_url=f"{root}/org/{org.org_id}/auth/token",
                issuer=f"{root}/org/{org.org_id}/fhir",
            )
        except OAuthError as exc:
            return _json(exc.body(), exc.status, exc.headers)
        return _json(body)

    async def jwks(self, request: Request) -> Response:
        org = self._org(request)
        if org is None:
            return _json({"error": "not_found"}, 404)
        return Response(dumps(org.auth.jwks()), 200, media_type="application/json")
