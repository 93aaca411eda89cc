"""The app factory: API, pages, static assets, middleware and error translation."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import JSONResponse

from esante import __version__
from esante.core.db import session_factory
from esante.core.settings import Settings, get_settings
from esante.web import errors
from esante.web.middleware import (
    BodyLimitMiddleware,
    SecurityHeadersMiddleware,
    TransactionMiddleware,
)

HERE = Path(__file__).resolve().parent
# Routes that receive files: they get ESANTE_MAX_UPLOAD_BYTES instead of the body limit.
UPLOAD_PATHS = (r"^/api/cyber/incidents/\d+/attachments$", r"^/cyber/incidents/\d+/action$",
                r"^/api/cyber/inventories/[0-9AB]{9}/import$", r"^/api/cyber/advisories/csaf$",
                r"^/cyber/veille/inventaire/[0-9AB]{9}$", r"^/cyber/veille/avis/import$",
                r"^/api/cyber/(phishing|indicators/import)$",
                r"^/cyber/(hameconnage|indicateurs/import)$",
                r"^/api/space/documents$", r"^/espace/documents$",
                r"^/api/messaging/messages$", r"^/messagerie/nouveau$")
log = logging.getLogger("esante.web")


def create_app(
    settings: Settings | None = None, factory: sessionmaker[Session] | None = None
) -> FastAPI:
    settings = settings or get_settings()
    threads = settings.web_threads

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Blocking work runs in a pool of this many threads (and as many database
        # connections): more threads than that only queue on the GIL and the pool.
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="esante API",
        version=__version__,
        description="API de la plateforme esante. Authentification : `Authorization: Bearer "
                    "<jeton>` (jeton créé par `esante token create` ou la page Mon compte). "
                    "Erreurs au format problem+json (RFC 9457), message en français et en anglais.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.session_factory = factory or session_factory()
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.state.templates.env.globals["version"] = __version__

    errors.install(app)
    app.add_middleware(TransactionMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes,
                       upload_bytes=settings.max_upload_bytes, upload_paths=UPLOAD_PATHS)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.mode == "production")

    app.mount("/static", StaticFiles(directory=str(HERE / "static"), check_dir=False),
              name="static")
    _include_routers(app)

    @app.get("/health", tags=["platform"], summary="État de la plateforme et de la base")
    def health() -> JSONResponse:
        try:
            with app.state.session_factory() as s:
                s.execute(text("SELECT 1"))
            db = "ok"
        except Exception:
            log.exception("health check: database unreachable")
            db = "unreachable"
        status = 200 if db == "ok" else 503
        return JSONResponse({"status": "ok" if status == 200 else "degraded",
                             "database": db, "version": __version__}, status_code=status)

    return app


def _include_routers(app: FastAPI) -> None:
    from esante.apps.api import router as apps_api
    from esante.apps.oauth_routes import router as oauth_routes
    from esante.apps.pages import router as apps_pages
    from esante.core.accounts.api import router as accounts_api
    from esante.core.accounts.pages import router as accounts_pages
    from esante.core.audit_api import router as audit_api
    from esante.core.notifications.api import router as notifications_api
    from esante.core.notifications.pages import router as notifications_pages
    from esante.core.orgs.api import router as orgs_api
    from esante.core.orgs.pages import router as orgs_pages
    from esante.cyber.awareness.api import router as awareness_api
    from esante.cyber.awareness.pages import router as awareness_pages
    from esante.cyber.dashboards.api import router as dashboards_api
    from esante.cyber.dashboards.pages import router as dashboards_pages
    from esante.cyber.governance.api import router as governance_api
    from esante.cyber.governance.pages import router as governance_pages
    from esante.cyber.incidents.api import router as incidents_api
    from esante.cyber.incidents.pages import router as incidents_pages
    from esante.cyber.indicators.api import router as indicators_api
    from esante.cyber.indicators.pages import router as indicators_pages
    from esante.cyber.indicators.taxii import router as taxii_api
    from esante.cyber.lessons.api import router as lessons_api
    from esante.cyber.lessons.pages import router as lessons_pages
    from esante.cyber.maturity.api import router as maturity_api
    from esante.cyber.maturity.pages import router as maturity_pages
    from esante.cyber.mutualaid.api import router as aid_api
    from esante.cyber.mutualaid.pages import router as aid_pages
    from esante.cyber.passwords.api import router as passwords_api
    from esante.cyber.passwords.pages import router as passwords_pages
    from esante.cyber.phishing.api import router as phishing_api
    from esante.cyber.phishing.pages import router as phishing_pages
    from esante.cyber.threatwatch.api import router as threatwatch_api
    from esante.cyber.threatwatch.pages import router as threatwatch_pages
    from esante.datahub.api import router as datahub_api
    from esante.datahub.pages import router as datahub_pages
    from esante.fhir.api import router as fhir_api
    from esante.identity.api import router as identity_api
    from esante.identity.pages import router as identity_pages
    from esante.messaging.api import router as messaging_api
    from esante.messaging.pages import router as messaging_pages
    from esante.web.pages import router as shell_pages

    # The FHIR API first: routes are matched in order (each included router's list is
    # walked twice per request), and it is the busiest.
    app.include_router(fhir_api)
    app.include_router(oauth_routes)
    app.include_router(apps_api, prefix="/api")
    app.include_router(apps_pages)
    for router in (accounts_api, orgs_api, notifications_api, audit_api, incidents_api):
        app.include_router(router, prefix="/api")
    app.include_router(dashboards_api, prefix="/api")
    for router in (lessons_api, aid_api, passwords_api):
        app.include_router(router, prefix="/api")
    for router in (lessons_pages, aid_pages, passwords_pages):
        app.include_router(router)
    for router in (shell_pages, accounts_pages, notifications_pages, orgs_pages, incidents_pages):
        app.include_router(router)
    app.include_router(dashboards_pages)
    app.include_router(identity_api, prefix="/api")
    app.include_router(identity_pages)
    app.include_router(threatwatch_api, prefix="/api")
    app.include_router(threatwatch_pages)
    for router in (indicators_api, phishing_api, taxii_api):
        app.include_router(router, prefix="/api")
    for router in (indicators_pages, phishing_pages):
        app.include_router(router)
    app.include_router(datahub_api, prefix="/api")
    app.include_router(datahub_pages)
    for router in (maturity_api, awareness_api, governance_api):
        app.include_router(router, prefix="/api")
    for router in (maturity_pages, awareness_pages, governance_pages):
        app.include_router(router)
    from esante.space.api import router as space_api
    from esante.space.pages import router as space_pages

    app.include_router(space_api, prefix="/api")
    app.include_router(space_pages)
    app.include_router(messaging_api, prefix="/api")
    app.include_router(messaging_pages)
