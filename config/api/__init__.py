"""The super-admin config API (FastAPI): sites, chargers, tariffs, subscribers, sessions.

``create_app(engine, registry)`` builds it; ``evgate serve`` runs it next to the gateway in
one event loop (config.app). The OpenAPI document is served at ``/openapi.json``, the docs
at ``/docs``.
"""

from config.api.app import create_app

__all__ = ["create_app"]
