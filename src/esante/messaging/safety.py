"""Links and attachments of an incoming message checked against the indicators the
cyber-vigilance cell shares (``esante.cyber.indicators``): the sender, every link, its host
and parent domains, every attachment's hashes. What an establishment may see (TLP) is what
its mailboxes are checked against; a professional's mailbox of no establishment is checked
against what is shared with the whole community (TLP:CLEAR, TLP:GREEN national), a
citizen's against TLP:CLEAR."""

from __future__ import annotations

import hashlib
import re
import time
from contextlib import suppress

from sqlalchemy.orm import Session

from esante.core.errors import Invalid
from esante.cyber.indicators import observables
from esante.cyber.indicators import service as indicators
from esante.cyber.indicators.access import Audience, audience_of_establishment
from esante.messaging.mime import Parsed

# Where an establishment stands for the TLP rule (its region, its GHT) changes rarely: kept
# a minute per process instead of one more query for every message received.
AUDIENCE_SECONDS = 60.0
_audiences: dict[str, tuple[float, Audience]] = {}

URL = re.compile(r"""(?:https?|ftp)://[^\s"'<>`]+""", re.IGNORECASE)
MAX_CANDIDATES = 2000


def candidates(parsed: Parsed) -> set[str]:
    out: set[str] = {parsed.sender, parsed.sender.rpartition("@")[2]}
    for raw in URL.findall(parsed.text + " " + parsed.html):
        with suppress(Invalid):
            url = observables.url(raw.rstrip(".,);"))
            out.add(url)
            host = observables.host_of(url)
            labels = host.split(".")
            out.update(".".join(labels[i:]) for i in range(len(labels) - 1))
    for att in parsed.attachments:
        out.update(hashlib.new(name, att.data).hexdigest() for name in ("md5", "sha1", "sha256"))
    return {c.lower() for c in out if c}


NATIONAL, PUBLIC = Audience(general="national"), Audience(general="clear")


def warnings(session: Session, parsed: Parsed, *, finess: str, citizen: bool = False) -> list[str]:
    """French lines naming each shared indicator found, empty when none."""
    audience = _audience(session, finess) if finess else PUBLIC if citizen else NATIONAL
    if audience.empty:  # sees no indicator (``visible_events`` is false): nothing to ask
        return []
    values = sorted(candidates(parsed))[:MAX_CANDIDATES]
    found = indicators.active_indicators(session, audience, values=values)
    return [f"{k.kind} « {k.value[:80].replace('.', '[.]')} » signalé par la cellule "
            f"(« {k.event_title[:80]} », TLP:{k.tlp})" for k in found]


def _audience(session: Session, finess: str) -> Audience:
    now = time.monotonic()
    kept = _audiences.get(finess)
    if kept is not None and now - kept[0] < AUDIENCE_SECONDS:
        return kept[1]
    audience = audience_of_establishment(session, finess)
    if not audience.empty:  # an establishment not there yet is asked again
        if len(_audiences) > 10_000:
            _audiences.clear()
        _audiences[finess] = (now, audience)
    return audience
