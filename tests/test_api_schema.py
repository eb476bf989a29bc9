"""Schemathesis against the service's OpenAPI 3.1 document: at least 100 generated requests per
operation, no 5xx, every status code, content type and body as documented (problem+json for errors).

Runs on a store of 4 resources so that a generated scenario that is valid plans in well under a second.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from service_fixtures import build_store

from surgeplan.api import ServiceConfig, create_app

TOKENS: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    fx = build_store(tmp_path_factory.mktemp("schema"), max_resources=4)
    TOKENS.update(fx["tokens"])
    app = create_app(ServiceConfig(db=fx["db"], live=False))
    # the event stream never ends by design; it is tested in test_api.py with ?limit=
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app).exclude(path="/api/v1/events")


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def conformance_run(operation, calls: dict[str, int]):
    """A Hypothesis test of one operation; counts its calls in ``calls``."""
    label = f"{operation.method.upper()} {operation.path}"

    @given(case=operation.as_strategy())
    @settings(
        max_examples=100,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case):
        calls[label] = calls.get(label, 0) + 1
        case.call_and_validate(headers={"Authorization": f"Bearer {TOKENS['admin']}"}, checks=CHECKS)

    return run


@pytest.mark.slow
def test_every_operation_conforms_to_its_document(api_schema):
    calls: dict[str, int] = {}
    for result in api_schema.get_all_operations():
        conformance_run(result.ok(), calls)()
    assert len(calls) >= 20
    # operations with a finite input space (no parameters) are exhausted sooner; all others get 100
    rich = {k: v for k, v in calls.items() if v < 100}
    print("schemathesis calls per operation:", calls)
    assert all(k.startswith("GET") for k in rich), rich
