"""The fields of one EHR connection, shown or hidden per auth method, with validation.

Secrets (client secret, password, API key) are write-only: the form says whether one is stored,
never shows it, and an empty field keeps the stored value.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import httpx
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from healthprep_desktop.fhir.config import (
    AuthMethod,
    ConnectionConfig,
    RedirectConfig,
    Vendor,
)
from healthprep_desktop.fhir.presets import PRESETS, preset_for
from healthprep_desktop.fhir.tls import ca_file_problem, proxy_problem
from healthprep_desktop.ui.sign_in_panel import redirect_note

AUTH_LABELS = {
    AuthMethod.SMART_PUBLIC_PKCE: "SMART sign-in (public app, PKCE)",
    AuthMethod.SMART_CONFIDENTIAL_BASIC: "SMART sign-in (confidential, client secret, Basic)",
    AuthMethod.SMART_CONFIDENTIAL_POST: "SMART sign-in (confidential, client secret in form)",
    AuthMethod.SMART_BACKEND_SERVICES: "SMART Backend Services (signed key, no user)",
    AuthMethod.BASIC: "HTTP Basic (user name and password)",
    AuthMethod.API_KEY: "API key header",
    AuthMethod.NONE: "None (open test server)",
}
# Secret kinds per method: what ConnectionConfig.secret_key(tenant, kind) names.
SECRET_KINDS = {
    AuthMethod.SMART_CONFIDENTIAL_BASIC: "client_secret",
    AuthMethod.SMART_CONFIDENTIAL_POST: "client_secret",
    AuthMethod.BASIC: "password",
    AuthMethod.API_KEY: "api_key",
}
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass
class FormValues:
    config: ConnectionConfig
    secret: str = ""  # typed in this time ("" = keep the stored one)
    errors: list[str] = field(default_factory=list)


class ConnectionForm(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        self._stored_secret = False
        self.layout_ = QFormLayout(self)
        self.name = QLineEdit()
        self.name.setObjectName("connName")
        self.vendor = QComboBox()
        self.vendor.setObjectName("connVendor")
        for vendor, preset in PRESETS.items():
            self.vendor.addItem(preset.label, vendor.value)
        self.base_url = QLineEdit()
        self.base_url.setObjectName("connUrl")
        self.base_url.setPlaceholderText("https://fhir.example.org/api/FHIR/R4")
        self.auth = QComboBox()
        self.auth.setObjectName("connAuth")
        for method, label in AUTH_LABELS.items():
            self.auth.addItem(label, method.value)
        self.client_id = QLineEdit()
        self.client_id.setObjectName("connClientId")
        self.secret = QLineEdit()
        self.secret.setObjectName("connSecret")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.username = QLineEdit()
        self.username.setObjectName("connUser")
        self.api_key_header = QLineEdit("X-API-Key")
        self.key_id = QLineEdit()
        self.key_algorithm = QComboBox()
        self.key_algorithm.addItems(["RS384", "ES384"])
        self.scopes = QPlainTextEdit()
        self.scopes.setObjectName("connScopes")
        self.scopes.setFixedHeight(70)
        self.redirect_port = QSpinBox()
        self.redirect_port.setRange(0, 65535)
        self.redirect_port.setSpecialValueText("any free port")
        self.redirect_port.setToolTip(
            "Some EHRs register an exact redirect URI: then set the port registered there"
        )
        # The redirect URI the EHR administrator registers, for this connection's port (and the
        # preset's fixed port when the vendor needs one).
        self.redirect_uri = QLabel()
        self.redirect_uri.setObjectName("connRedirectUri")
        self.redirect_uri.setWordWrap(True)
        self.redirect_uri.setTextFormat(Qt.TextFormat.PlainText)
        self.redirect_uri.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.redirect_port.valueChanged.connect(lambda _v: self._show_redirect())
        self.enabled = QCheckBox("Use this connection")
        self.enabled.setChecked(True)
        self.priority = QSpinBox()
        self.priority.setRange(0, 1000)
        self.priority.setValue(100)
        self.priority.setToolTip("Lower is tried first when the clinic has several connections")
        # Each connection paces itself: a hospital or registry read beside the clinic's EHR has
        # its own limit, agreed with whoever runs that server.
        self.rate = QDoubleSpinBox()
        self.rate.setObjectName("connRate")
        self.rate.setRange(0, 1000)
        self.rate.setDecimals(1)
        self.rate.setSuffix(" requests/s")
        self.rate.setSpecialValueText("no limit")
        self.rate.setToolTip("Requests per second this connection sends at most (0: no limit)")
        self.concurrency = QSpinBox()
        self.concurrency.setObjectName("connConcurrency")
        self.concurrency.setRange(1, 64)
        self.concurrency.setToolTip("Requests this connection has in flight at once, at most")
        pace_row = QWidget()
        pace_layout = QHBoxLayout(pace_row)
        pace_layout.setContentsMargins(0, 0, 0, 0)
        pace_layout.addWidget(self.rate)
        pace_layout.addWidget(QLabel("at once at most"))
        pace_layout.addWidget(self.concurrency)
        pace_layout.addStretch(1)
        self.ca_file = QLineEdit()
        self.ca_file.setObjectName("connCaFile")
        self.ca_file.setPlaceholderText("none: the system's trusted authorities only")
        self.ca_file.setToolTip(
            "The clinic's own certificate authority (PEM or DER file), when the EHR's "
            "certificate is issued by it and it is not installed on this computer"
        )
        self.ca_file_button = QPushButton("Choose…")
        self.ca_file_button.setObjectName("connCaFileChoose")
        self.ca_file_button.clicked.connect(self._choose_ca_file)
        ca_row = QWidget()
        ca_layout = QHBoxLayout(ca_row)
        ca_layout.setContentsMargins(0, 0, 0, 0)
        ca_layout.addWidget(self.ca_file)
        ca_layout.addWidget(self.ca_file_button)
        self.proxy = QLineEdit()
        self.proxy.setObjectName("connProxy")
        self.proxy.setPlaceholderText("the system's proxy settings")
        self.proxy.setToolTip("A proxy for this connection only, like http://proxy.clinic:3128")
        self.secret_label = QLabel("Client secret:")
        rows: list[tuple[str | QLabel, QWidget]] = [
            ("Name:", self.name),
            ("EHR:", self.vendor),
            ("FHIR base URL:", self.base_url),
            ("Sign-in method:", self.auth),
            ("Client ID:", self.client_id),
            (self.secret_label, self.secret),
            ("User name:", self.username),
            ("API key header:", self.api_key_header),
            ("Key ID (kid):", self.key_id),
            ("Key algorithm:", self.key_algorithm),
            ("Scopes:", self.scopes),
            ("Redirect port:", self.redirect_port),
            ("", self.redirect_uri),
            ("CA file:", ca_row),
            ("Proxy:", self.proxy),
            ("", self.enabled),
            ("Priority:", self.priority),
            ("Pace:", pace_row),
        ]
        for caption, widget in rows:
            self.layout_.addRow(caption, widget)
        self.vendor.currentIndexChanged.connect(self._vendor_changed)
        self.auth.currentIndexChanged.connect(self._auth_changed)
        for line in (
            self.name,
            self.base_url,
            self.client_id,
            self.secret,
            self.username,
            self.ca_file,
            self.proxy,
        ):
            line.textEdited.connect(lambda _t: self._edited())
        self.scopes.textChanged.connect(self._edited)
        self.api_key_header.textEdited.connect(lambda _t: self._edited())
        self.key_id.textEdited.connect(lambda _t: self._edited())
        self.key_algorithm.currentIndexChanged.connect(lambda _i: self._edited())
        self.redirect_port.valueChanged.connect(lambda _v: self._edited())
        self.priority.valueChanged.connect(lambda _v: self._edited())
        self.rate.valueChanged.connect(lambda _v: self._edited())
        self.concurrency.valueChanged.connect(lambda _v: self._edited())
        self.enabled.toggled.connect(lambda _c: self._edited())
        self.clear()

    # Loading ----------------------------------------------------------------------------

    def clear(self) -> None:
        """A new connection with the generic preset."""
        self.load(
            ConnectionConfig(
                name="",
                base_url="",
                vendor=Vendor.GENERIC,
                auth_method=PRESETS[Vendor.GENERIC].auth_method,
                scopes=PRESETS[Vendor.GENERIC].scopes,
            ),
            secret_stored=False,
            priority=100,
        )

    def load(self, config: ConnectionConfig, *, secret_stored: bool, priority: int) -> None:
        self._loading = True
        try:
            self.name.setText(config.name)
            self.vendor.setCurrentIndex(max(0, self.vendor.findData(config.vendor.value)))
            self.base_url.setText(config.base_url)
            self.auth.setCurrentIndex(max(0, self.auth.findData(config.auth_method.value)))
            self.client_id.setText(config.client_id)
            self.secret.clear()
            self.username.setText(config.username)
            self.api_key_header.setText(config.api_key_header)
            self.key_id.setText(config.backend_key_id)
            self.key_algorithm.setCurrentText(config.backend_key_algorithm)
            self.scopes.setPlainText(" ".join(config.scopes))
            self.redirect_port.setValue(config.redirect.port)
            self.ca_file.setText(config.ca_file)
            self.proxy.setText(config.proxy)
            self.enabled.setChecked(config.enabled)
            self.priority.setValue(priority)
            self.rate.setValue(config.rate_limit.requests_per_second)
            self.concurrency.setValue(config.rate_limit.max_concurrency)
            self._stored_secret = secret_stored
            self._loaded = config
        finally:
            self._loading = False
        self._auth_changed()
        self.mark_unmodified()

    # Unsaved edits: what the fields hold now against what was loaded ----------------------

    def _snapshot(self) -> tuple[object, ...]:
        return (
            self.name.text(),
            self.vendor.currentIndex(),
            self.base_url.text(),
            self.auth.currentIndex(),
            self.client_id.text(),
            self.secret.text(),
            self.username.text(),
            self.api_key_header.text(),
            self.key_id.text(),
            self.key_algorithm.currentIndex(),
            self.scopes.toPlainText(),
            self.redirect_port.value(),
            self.ca_file.text(),
            self.proxy.text(),
            self.enabled.isChecked(),
            self.priority.value(),
            self.rate.value(),
            self.concurrency.value(),
        )

    def mark_unmodified(self) -> None:
        self._baseline = self._snapshot()

    def is_modified(self) -> bool:
        """Whether a field differs from what was loaded (an edit undone by hand is no edit)."""
        return self._snapshot() != self._baseline

    # Per-method fields -------------------------------------------------------------------

    @property
    def method(self) -> AuthMethod:
        return AuthMethod(self.auth.currentData())

    def _auth_changed(self, *_: object) -> None:
        method = self.method
        kind = SECRET_KINDS.get(method)
        visible = {
            self.client_id: method.is_smart,
            self.secret: kind is not None,
            self.username: method is AuthMethod.BASIC,
            self.api_key_header: method is AuthMethod.API_KEY,
            self.key_id: method is AuthMethod.SMART_BACKEND_SERVICES,
            self.key_algorithm: method is AuthMethod.SMART_BACKEND_SERVICES,
            self.scopes: method.is_smart,
            self.redirect_port: method.is_interactive,
            self.redirect_uri: method.is_interactive,
        }
        for widget, show in visible.items():
            self.layout_.setRowVisible(widget, show)
        if kind is not None:
            self.secret_label.setText(
                {"client_secret": "Client secret:", "password": "Password:", "api_key": "API key:"}[
                    kind
                ]
            )
            self.secret.setPlaceholderText(
                "stored: leave empty to keep it" if self._stored_secret else "required"
            )
        self._show_redirect()
        self._edited()

    def _show_redirect(self) -> None:
        self.redirect_uri.setText(
            redirect_note(
                ConnectionConfig(
                    name="", base_url="", redirect=RedirectConfig(port=self.redirect_port.value())
                )
            )
        )

    def _vendor_changed(self, *_: object) -> None:
        if self._loading:
            return
        preset = preset_for(Vendor(self.vendor.currentData()))
        self.auth.setCurrentIndex(max(0, self.auth.findData(preset.auth_method.value)))
        self.scopes.setPlainText(" ".join(preset.scopes))
        self.redirect_port.setValue(preset.fixed_redirect_port)
        self._edited()

    def _choose_ca_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "The clinic's CA certificate",
            self.ca_file.text(),
            "Certificates (*.pem *.crt *.cer *.der);;All files (*)",
        )
        if path:
            self.ca_file.setText(path)
            self._edited()

    def _edited(self) -> None:
        if not self._loading:
            self.changed.emit()

    # Reading and validating -------------------------------------------------------------

    def values(self, *, taken_names: set[str] = frozenset()) -> FormValues:  # type: ignore[assignment]
        errors: list[str] = []
        method = self.method
        name = self.name.text().strip()
        url = self.base_url.text().strip()
        if not name:
            errors.append("Enter a name for the connection.")
        elif name.casefold() in {n.casefold() for n in taken_names}:
            errors.append(f"Another connection is already named {name!r}.")
        elif "/" in name:
            errors.append("The name cannot contain '/'.")
        errors.extend(url_problems(url))
        scopes = tuple(self.scopes.toPlainText().split())
        if method.is_smart and not self.client_id.text().strip():
            errors.append("Enter the client ID the EHR issued for HealthPrep Desktop.")
        if method.is_smart and not scopes:
            errors.append("Enter the scopes to ask for (the preset fills them in).")
        kind = SECRET_KINDS.get(method)
        if kind is not None and not self.secret.text() and not self._stored_secret:
            errors.append(f"Enter the {self.secret_label.text().rstrip(':').lower()}.")
        if method is AuthMethod.BASIC and not self.username.text().strip():
            errors.append("Enter the user name for HTTP Basic.")
        if method is AuthMethod.API_KEY and not self.api_key_header.text().strip():
            errors.append("Enter the name of the API key header.")
        ca_file = self.ca_file.text().strip()
        proxy = self.proxy.text().strip()
        errors.extend(p for p in (ca_file_problem(ca_file), proxy_problem(proxy)) if p)
        # Settings the form does not show (time-outs, retries, an athenahealth practice, the
        # panel Group, ...) are kept from what was loaded: editing the name must not lose them.
        config = replace(
            self._loaded,
            name=name,
            base_url=url,
            vendor=Vendor(self.vendor.currentData()),
            auth_method=method,
            client_id=self.client_id.text().strip(),
            scopes=scopes,
            redirect=replace(self._loaded.redirect, port=self.redirect_port.value()),
            enabled=self.enabled.isChecked(),
            priority=self.priority.value(),
            username=self.username.text().strip(),
            api_key_header=self.api_key_header.text().strip() or "X-API-Key",
            backend_key_algorithm=self.key_algorithm.currentText(),
            backend_key_id=self.key_id.text().strip(),
            ca_file=ca_file,
            proxy=proxy,
            rate_limit=replace(
                self._loaded.rate_limit,
                requests_per_second=self.rate.value(),
                max_concurrency=self.concurrency.value(),
            ),
        )
        return FormValues(config=config, secret=self.secret.text(), errors=errors)


def url_problems(url: str) -> list[str]:
    if not url:
        return ["Enter the FHIR base URL (the EHR's documentation or endpoint directory has it)."]
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        return ["The FHIR base URL is not a valid web address."]
    if parsed.scheme not in ("https", "http") or not parsed.host:
        return ["The FHIR base URL must start with https:// and name a server."]
    if parsed.scheme == "http" and parsed.host not in _LOOPBACK_HOSTS:
        return ["Use https:// for the FHIR base URL: patient data must travel encrypted."]
    if parsed.query or parsed.fragment:
        return ["The FHIR base URL must not contain '?' or '#'."]
    return []
