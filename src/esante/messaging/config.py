"""Settings of the messaging domain (``ESANTE_MSS_*``). Limits the national rules do not fix
here are settings (*unconfirmed* values get a default, never a constant)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from esante.core.settings import get_settings


class MessagingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESANTE_MSS_", extra="ignore")

    # The operator domain of this platform; citizens get <INS>@patient.<domain>.
    domain: str = "mss.esante.localhost"
    operator_name: str = "esante"
    max_message_bytes: int = Field(default=20 * 1_048_576, ge=1024)
    max_attachment_bytes: int = Field(default=10 * 1_048_576, ge=1024)
    max_attachments: int = Field(default=20, ge=1)
    accept_html: bool = True
    # X-MSS-NIL: the product reference this software got when declared on the ANS's
    # Convergence platform; set on every message the platform composes (web, API, CLI).
    product_ref: str = Field(default="", pattern=r"^[A-Za-z0-9._-]{0,40}$")
    host: str = "127.0.0.1"
    submission_port: int = Field(default=1587, ge=0, le=65535)  # 587 in production
    relay_port: int = Field(default=1025, ge=0, le=65535)  # 25 in production
    tls_dir: Path | None = None  # server cert, key, trust store (CA bundle)
    # Other operators' SMTP servers: "domain=host:port,..."; otherwise <domain>:25.
    routes: str = ""
    retry_minutes: str = "1,5,15,60,240,720"
    max_attempts: int = Field(default=6, ge=1)
    # IMAP for professionals' mail clients: Debian's Dovecot, run from a configuration the
    # platform writes into ``imap_dir`` (default <data dir>/mss-imap).
    imap_port: int = Field(default=1143, ge=0, le=65535)  # 143 in production (STARTTLS)
    imaps_port: int = Field(default=1993, ge=0, le=65535)  # 993 in production
    imap_dir: Path | None = None
    # The system account Dovecot runs as when started by root (never root itself);
    # otherwise it runs as the account that starts it.
    imap_user: str = "dovecot"
    dovecot: str = "/usr/sbin/dovecot"
    doveadm: str = "/usr/bin/doveadm"
    imap_feed_seconds: float = Field(default=5.0, gt=0)
    # A message sent from a mail client (SMTP submission) is usually saved by the client
    # itself in its Sent folder: the platform waits this long for that copy before it
    # files its own (never two).
    imap_sent_grace_seconds: float = Field(default=120.0, ge=0)
    # Mutual TLS for IMAP (DOMAIN.md): a client certificate from the trust store, on top
    # of the token; off only for a client that cannot present one (a setting, said loudly).
    imap_client_cert: bool = True
    # Processes of the SMTP gateway sharing its ports (SO_REUSEPORT; the kernel spreads the
    # connections): 0 for one per core. Each is one Python interpreter, so one core at most.
    smtp_processes: int = Field(default=0, ge=0, le=64)
    # Bare reads of SMTP reception answer quickly: seconds to wait for a client line.
    smtp_timeout: float = Field(default=60.0, gt=0)

    @property
    def gateway_processes(self) -> int:
        return self.smtp_processes or max(1, os.cpu_count() or 1)

    @property
    def patient_domain(self) -> str:
        return f"patient.{self.domain}"

    @property
    def resolved_tls_dir(self) -> Path:
        return self.tls_dir or (get_settings().data_dir / "mss-tls")

    @property
    def resolved_imap_dir(self) -> Path:
        return self.imap_dir or (get_settings().data_dir / "mss-imap")

    def route_for(self, domain: str) -> tuple[str, int]:
        for item in filter(None, (x.strip() for x in self.routes.split(","))):
            name, _, target = item.partition("=")
            if name.strip().lower() == domain:
                host, _, port = target.strip().rpartition(":")
                return host, int(port)
        return domain, 25

    def backoff(self, attempts: int) -> int:
        steps = [int(x) for x in self.retry_minutes.split(",") if x.strip()]
        return steps[min(attempts, len(steps)) - 1] if steps else 5


@lru_cache
def get_mss_settings() -> MessagingSettings:
    return MessagingSettings()
