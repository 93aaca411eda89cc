"""ASGI entry point: ``uvicorn esante.web.main:app``."""

from esante.web.app import create_app

app = create_app()
