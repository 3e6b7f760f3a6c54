"""The OpenAPI document: valid OpenAPI 3.1, complete for the app's routes, and true to the
contract of ARCHITECTURE.md. (openapi-spec-validator is not installed; schemathesis's
bundled OpenAPI 3.1 meta-schema and jsonschema-rs do the same structural check.)"""

from __future__ import annotations

import re

import jsonschema_rs
import pytest

from retrieval.store import BAND_FIELDS
from server.api import SEARCH_FIELDS
from server.openapi import OPENAPI
from tests.test_server_support import make_app, schema_validator

#: The result example of ARCHITECTURE.md ("kyb identify / POST /api/v1/identify result").
CONTRACT_EXAMPLE = {
    "image": {"width": 1600, "height": 1200},
    "detections": [
        {"box": [10, 20, 300, 200], "kind": "logo", "score": 0.97, "verdict": "match",
         "matches": [
             {"band_id": 186, "name": "Cannibal Corpse",
              "url": "https://www.metal-archives.com/bands/Cannibal_Corpse/186",
              "country": "United States", "genre": "Death Metal",
              "album": None, "ref_id": 5121, "score": 0.91, "inliers": 64}]},
    ],
    "bands": [{"band_id": 186, "name": "Cannibal Corpse", "url": "...", "score": 0.91}],
    "timings_ms": {"detect": 180.1, "features": 95.3, "match": 4.2, "verify": 30.0, "lookup": 0.8},
}


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


def test_served_document_is_the_module_data(app):
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200 and response.get_json() == OPENAPI


def test_is_valid_openapi_3_1():
    from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

    assert OPENAPI["openapi"].startswith("3.1")
    OPENAPI_31_VALIDATOR.validate(OPENAPI)


@pytest.mark.parametrize("name", sorted(OPENAPI["components"]["schemas"]))
def test_component_schemas_are_valid_json_schema_2020_12(name):
    jsonschema_rs.meta.validate({"$schema": "https://json-schema.org/draft/2020-12/schema",
                                 **OPENAPI["components"]["schemas"][name]})
    schema_validator(name)  # every $ref inside resolves


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_reference_resolves():
    names = set(OPENAPI["components"]["schemas"])
    for ref in _refs(OPENAPI):
        assert ref.removeprefix("#/components/schemas/") in names, ref


def test_paths_and_methods_match_the_routes(app):
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        routes[path] = {m.lower() for m in rule.methods} - {"head", "options"}
    documented = {path: set(item) for path, item in OPENAPI["paths"].items()}
    assert routes == documented


def test_every_error_response_uses_the_error_schema():
    for path, item in OPENAPI["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, status)


def test_band_schemas_list_the_fields_the_api_returns():
    schemas = OPENAPI["components"]["schemas"]
    band = {*BAND_FIELDS, "similar"}
    assert set(schemas["Band"]["properties"]) == band == set(schemas["Band"]["required"])
    assert set(schemas["BandHit"]["properties"]) == set(SEARCH_FIELDS)


def test_the_architecture_example_is_a_valid_result():
    schema_validator("IdentifyResult").validate(CONTRACT_EXAMPLE)


@pytest.mark.parametrize("broken", [
    {"verdict": "maybe"}, {"kind": "shirt"}, {"box": [1, 2, 3]}, {"matches": [{"band_id": 1}]},
])
def test_the_result_schema_rejects_contract_violations(broken):
    result = {**CONTRACT_EXAMPLE, "detections": [{**CONTRACT_EXAMPLE["detections"][0], **broken}]}
    assert not schema_validator("IdentifyResult").is_valid(result)


def test_the_error_schema_is_closed():
    validator = schema_validator("Error")
    assert validator.is_valid({"error": {"code": "not_found", "message": "m", "status": 404}})
    assert not validator.is_valid({"error": {"code": "not_found", "message": "m", "status": 404,
                                             "trace": "..."}})
    assert not validator.is_valid({"message": "m"})
