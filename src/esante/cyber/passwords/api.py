"""JSON-less route of the breached-password ranges (``/api/passwords/range/{prefix}``),
answering in the "Have I Been Pwned" range format (text, ``SUFFIX:COUNT`` per line)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.responses import PlainTextResponse

from esante.core import policy
from esante.cyber.passwords import access as _access  # noqa: F401 - registers the rule
from esante.cyber.passwords import service
from esante.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/passwords", tags=["mots de passe compromis"])

Prefix = Annotated[str, Path(min_length=5, max_length=5, pattern="^[0-9A-Fa-f]{5}$",
                             description="les 5 premiers caractères hexadécimaux du SHA-1")]


def range_response(session: SessionDep, prefix: str) -> PlainTextResponse:
    body = service.format_range(service.padded_range(session, prefix))
    # Padding is random per answer: nothing to cache, and nothing to keep in a cache.
    return PlainTextResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/range/{prefix}", response_class=PlainTextResponse,
            summary="Plage de hachés SHA-1 compromis (k-anonymat, format « Have I Been Pwned »)",
            description="Envoie les 5 premiers caractères hexadécimaux du SHA-1 d'un mot de "
                        "passe ; reçoit les 35 caractères restants de chaque haché connu de "
                        "cette plage, avec son nombre d'occurrences (`SUFFIXE:NOMBRE`), "
                        "complétés de faux suffixes de compte 0. Comparez localement.")
def passwords_range(prefix: Prefix, p: ApiPrincipal, session: SessionDep) -> PlainTextResponse:
    policy.authorize(p, "password.range.read")
    return range_response(session, prefix)
