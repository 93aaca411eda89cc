"""Rate limits of the OAuth endpoints (authorize, token, revoke, introspect), built like the
login's address limit (``esante.core.accounts.service._throttle_ip``): rows counted over a
sliding window, a 429 with ``Retry-After`` once the limit is reached (``TooManyRequests``).

Every call is noted with its source address; a call that succeeded is noted with its client
too, so that nobody spends another client's allowance by naming its ``client_id``. The note
is written in a transaction of its own, before the call is handled: a refused call (which
rolls back the request's transaction) still counts against its address."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from esante.apps.models import OAuthCall
from esante.core.db import utcnow
from esante.core.errors import TooManyRequests
from esante.core.settings import Settings

WINDOW = timedelta(minutes=1)
RETRY_AFTER = 60  # seconds: the window


def admit(factory: Callable[[], Session], settings: Settings, *, endpoint: str, ip: str,
          client_id: str | None) -> int:
    """Notes the call and returns its id, or raises ``TooManyRequests`` (nothing noted)."""
    since = utcnow() - WINDOW
    with factory() as session:
        by_ip = session.scalar(select(func.count()).select_from(OAuthCall).where(
            OAuthCall.ip == ip, OAuthCall.at >= since)) or 0
        if by_ip >= settings.apps_oauth_ip_per_minute:
            raise TooManyRequests(
                "trop de demandes d'autorisation depuis cette adresse : réessayez dans une minute",
                "too many OAuth requests from this address: retry in a minute",
                code="oauth-rate-limit", retry_after=RETRY_AFTER)
        if client_id:
            by_client = session.scalar(select(func.count()).select_from(OAuthCall).where(
                OAuthCall.client_id == client_id[:64], OAuthCall.at >= since)) or 0
            if by_client >= settings.apps_oauth_client_per_minute:
                raise TooManyRequests(
                    "trop de demandes pour cette application : réessayez dans une minute",
                    "too many OAuth requests for this client: retry in a minute",
                    code="oauth-rate-limit", retry_after=RETRY_AFTER)
        call = OAuthCall(endpoint=endpoint, ip=ip[:64] or "?")
        session.add(call)
        session.commit()
        return call.id


def succeeded(session: Session, call_id: int, client_id: str | None) -> None:
    """The call went through: it now counts against its client (in the request's own
    transaction, kept with the response)."""
    if client_id:
        session.execute(update(OAuthCall).where(OAuthCall.id == call_id)
                        .values(client_id=client_id[:64]))


def purge(session: Session, now: datetime | None = None,
          keep: timedelta = timedelta(days=1)) -> int:
    """Calls older than a day tell nothing more (the window is a minute)."""
    from sqlalchemy import delete

    now = now or utcnow()
    result = session.execute(delete(OAuthCall).where(OAuthCall.at < now - keep))
    return int(getattr(result, "rowcount", 0) or 0)
