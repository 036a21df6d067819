"""A schema-driven fuzz of the service's OpenAPI (schemathesis, in process over ASGI).

Schemathesis generates requests from `/openapi.json`, valid and invalid ones, and checks every response: no 5xx, a
status code and a body the OpenAPI declares (the 4xx responses are declared), valid requests accepted, invalid ones
refused. Bounded to a few dozen examples per operation so it stays quick.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from mlci.model.release import load_release
from mlci.serve.app import create_app
from mlci.serve.params import ServeParams

MAX_EXAMPLES = 50


@pytest.fixture(scope="module")
def api(package):
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(load_release(package), ServeParams()))


schema = schemathesis.pytest.from_fixture("api")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    """Schemathesis 4.32's lazy schema reads `node._nodeid`, which pytest 9 no longer has (it keeps `_id`)."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_openapi_fuzz(case):
    case.call_and_validate()
