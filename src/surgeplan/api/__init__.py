"""The service: an authenticated REST API (``/api/v1``), a live loop and a dashboard, in one FastAPI app.

``create_app(ServiceConfig(db=PATH))`` builds the app; ``surgeplan serve --db PATH`` runs it with
uvicorn. See :mod:`surgeplan.api.app`.
"""

from surgeplan.api.app import create_app
from surgeplan.api.state import ServiceConfig

__all__ = ["ServiceConfig", "create_app"]
