"""One configured EHR connection at run time: discovery, login, tokens, status and the client.

conn = FhirConnection(config, tenant="clinic-1", tokens=store_tokens, secrets=keyring)
await conn.login_interactive()          # or login_backend_services(), or stored tokens
patient = await conn.client.read("Patient", "123")
await conn.aclose()
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

import httpx

from healthprep_desktop.fhir.auth import ApiKeyAuth, BearerAuth, ScopedBasicAuth
from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.config import AuthMethod, ConnectionConfig
from healthprep_desktop.fhir.credentials import SecretStore, ensure_backend_key, load_backend_key
from healthprep_desktop.fhir.discovery import (
    Capabilities,
    SmartConfiguration,
    discover,
    fetch_capabilities,
)
from healthprep_desktop.fhir.errors import AuthError, OAuthError, ReauthenticationRequired
from healthprep_desktop.fhir.loopback import LoopbackListener, UrlOpener, open_system_browser
from healthprep_desktop.fhir.oauth import (
    BackendKey,
    ClientAuth,
    authorize_url,
    backend_services_token,
    exchange_code,
    pkce_for,
    refresh_tokens,
)
from healthprep_desktop.fhir.parsing import InvalidHandler
from healthprep_desktop.fhir.pkce import make_state
from healthprep_desktop.fhir.search_context import patientless_context
from healthprep_desktop.fhir.status import AuditSink, ConnectionStatus, StatusTracker, no_audit
from healthprep_desktop.fhir.tokens import TokenManager, TokenSet, TokenStore

log = logging.getLogger(__name__)


class FhirConnection:
    def __init__(
        self,
        config: ConnectionConfig,
        *,
        tenant: str,
        tokens: TokenStore,
        secrets: SecretStore,
        audit: AuditSink = no_audit,
        transport: httpx.AsyncBaseTransport | None = None,
        validate: bool = True,
        keep_invalid: bool = False,
        on_invalid: InvalidHandler | None = None,
    ) -> None:
        self.config = config
        self.tenant = tenant
        self._secrets = secrets
        self._audit = audit
        self.status_tracker = StatusTracker()
        self.tokens = TokenManager(
            tenant,
            config.name,
            store=tokens,
            refresher=None,
            status=self.status_tracker,
            audit=audit,
            fhir_base=config.base_url,
        )
        self._smart: SmartConfiguration | None = None
        self._capabilities: Capabilities | None = None
        self._active_login: LoopbackListener | None = None
        self.bearer: BearerAuth | None = None
        auth: httpx.Auth | None = None
        method = config.auth_method
        if method.is_smart:
            self.bearer = BearerAuth(self.tokens, config.base_url)
            auth = self.bearer
            self.tokens.set_refresher(
                self._refresh if method.is_interactive else self._backend_refresh,
                needs_refresh_token=method.is_interactive,
            )
        elif method is AuthMethod.BASIC:
            password = secrets.get(config.secret_key(tenant, "password")) or ""
            auth = ScopedBasicAuth(config.username, password, config.base_url)
        elif method is AuthMethod.API_KEY:
            key = secrets.get(config.secret_key(tenant, "api_key")) or ""
            auth = ApiKeyAuth(config.api_key_header, key, config.base_url)
        self.client = FhirClient(
            config.base_url,
            auth=auth,
            rate_limit=config.rate_limit,
            retry=config.retry,
            timeout=config.timeout,
            transport=transport,
            ca_file=config.ca_file,
            proxy=config.proxy,
            validate=validate,
            keep_invalid=keep_invalid,
            on_invalid=on_invalid,
            max_pages=config.max_pages,
            max_attachment_bytes=config.max_attachment_bytes,
        )
        self.client.patientless_params = patientless_context(config.vendor, config.practice_id)

    # --- status ------------------------------------------------------------------------------

    @property
    def status(self) -> ConnectionStatus:
        self.tokens.tokens  # noqa: B018 - loads stored tokens, which sets is_connected
        if not self.config.auth_method.is_smart:
            return ConnectionStatus(
                is_connected=True, last_sync=self.status_tracker.current.last_sync
            )
        return self.status_tracker.current

    async def aclose(self) -> None:
        if self._active_login is not None:
            self._active_login.cancel()
        await self.client.aclose()

    async def __aenter__(self) -> FhirConnection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- discovery ---------------------------------------------------------------------------

    async def smart_configuration(self) -> SmartConfiguration:
        if self._smart is None:
            if self.config.token_endpoint_override:
                self._smart = SmartConfiguration(
                    authorization_endpoint=None,
                    token_endpoint=self.config.token_endpoint_override,
                    source="configured",
                )
            else:
                self._smart = await discover(self.client.http, self.config.base_url)
        return self._smart

    async def capabilities(self) -> Capabilities:
        """The server's CapabilityStatement (fetched once per connection object)."""
        if self._capabilities is None:
            self._capabilities = await fetch_capabilities(self.client.http, self.config.base_url)
        return self._capabilities

    # --- client authentication ---------------------------------------------------------------

    def _client_auth(self) -> ClientAuth:
        cfg = self.config
        secret = None
        key: BackendKey | None = None
        if cfg.auth_method in (
            AuthMethod.SMART_CONFIDENTIAL_BASIC,
            AuthMethod.SMART_CONFIDENTIAL_POST,
        ):
            secret = self._secrets.get(cfg.secret_key(self.tenant, "client_secret"))
        elif cfg.auth_method is AuthMethod.SMART_BACKEND_SERVICES:
            key = load_backend_key(self._secrets, cfg.secret_key(self.tenant, "private_key"))
        return ClientAuth(cfg.client_id, cfg.auth_method, client_secret=secret, key=key)

    def backend_key(self) -> BackendKey:
        """The backend-services key pair (generated on first call); register
        `backend_key().jwks()` with the EHR."""
        return ensure_backend_key(
            self._secrets,
            self.config.secret_key(self.tenant, "private_key"),
            self.config.backend_key_algorithm,
        )

    # --- logins ------------------------------------------------------------------------------

    async def login_interactive(
        self, *, open_url: UrlOpener = open_system_browser, time_limit: float = 300.0
    ) -> TokenSet:
        """SMART standalone launch through the system browser and a loopback redirect.

        `open_url` receives the authorization URL: the default opens the browser; the headless
        variant (`loopback.print_url`) prints it; tests pass a callable that follows it."""
        if not self.config.auth_method.is_interactive:
            raise AuthError(
                f"{self.config.auth_method.value} connections do not sign in by browser"
            )
        smart = await self.smart_configuration()
        if not smart.authorization_endpoint:
            raise AuthError("the server has no authorization endpoint for browser sign-in")
        pkce = pkce_for(smart.code_challenge_methods, self.config.auth_method)
        state = make_state()
        listener = LoopbackListener(self.config.redirect)
        self._active_login = listener
        try:
            redirect_uri = await listener.start(state)
            url = authorize_url(
                smart.authorization_endpoint,
                client_id=self.config.client_id,
                redirect_uri=redirect_uri,
                scopes=self.config.scopes,
                state=state,
                aud=self.config.audience or self.config.base_url,
                pkce=pkce,
            )
            opened = open_url(url)
            if inspect.isawaitable(opened):
                await opened
            code = await listener.wait(time_limit)
        finally:
            self._active_login = None
            await listener.close()
        try:
            tokens = await exchange_code(
                self.client.http,
                smart.token_endpoint,
                code=code,
                redirect_uri=redirect_uri,
                client=self._client_auth(),
                pkce=pkce,
            )
        except OAuthError as exc:
            self.status_tracker.update(last_error=str(exc))
            raise
        tokens = self._bind(tokens, smart)
        self.tokens.accept_login(tokens)
        return tokens

    def _bind(self, tokens: TokenSet, smart: SmartConfiguration) -> TokenSet:
        """Tokens marked with where they came from and where they may go."""
        return tokens.bound(issuer=smart.token_endpoint, fhir_base=self.config.base_url)

    def cancel_login(self) -> None:
        if self._active_login is not None:
            self._active_login.cancel()

    async def login_backend_services(self) -> TokenSet:
        """SMART Backend Services: client_credentials with a signed JWT assertion."""
        tokens = await self._backend_token()
        self.tokens.accept_login(tokens)
        return tokens

    async def _backend_token(self) -> TokenSet:
        if self.config.auth_method is not AuthMethod.SMART_BACKEND_SERVICES:
            raise AuthError("this connection is not configured for backend services")
        smart = await self.smart_configuration()
        client = self._client_auth()
        if client.key is None:
            raise AuthError("no backend key: generate one and register its JWKS with the EHR")
        tokens = await backend_services_token(
            self.client.http, smart.token_endpoint, scopes=self.config.scopes, client=client
        )
        return self._bind(tokens, smart)

    async def _refresh(self, current: TokenSet | None) -> TokenSet:
        if current is None or not current.refresh_token:
            raise ReauthenticationRequired(self.config.name, "no refresh token")
        smart = await self.smart_configuration()
        if current.issuer is None or current.issuer != smart.token_endpoint.rstrip("/"):
            # The refresh token goes back only to the endpoint that issued it.
            raise ReauthenticationRequired(
                self.config.name,
                "the saved sign-in was issued by another server's sign-in service; sign in again",
            )
        tokens = await refresh_tokens(
            self.client.http,
            smart.token_endpoint,
            refresh_token=current.refresh_token,
            client=self._client_auth(),
        )
        return self._bind(tokens, smart)

    async def _backend_refresh(self, current: TokenSet | None) -> TokenSet:
        return await self._backend_token()

    def logout(self) -> None:
        self.tokens.disconnect("signed out")

    def describe(self) -> dict[str, Any]:
        """Safe to show or log: no secrets."""
        status = self.status
        return {
            "name": self.config.name,
            "base_url": self.config.base_url,
            "auth_method": self.config.auth_method.value,
            "connected": status.is_connected,
            "token_expiry": status.token_expiry.isoformat() if status.token_expiry else None,
        }
