"""`assert_documented(response, "GET /api/…/{id}")`: the answer is one the OpenAPI schema lists for
that operation, and its body is the documented one, field by field.

schemathesis (test_schema_fuzz.py) checks every operation against a live server, but it rarely
reaches a successful upload or a cached project with milestones; the tests of each app reach
them, and check them here. A success body is held to its documented fields: a field the view
answers that the schema does not list fails, so the schema cannot fall behind the code. The one
error body (`Error`) stays open: some answers add a field to it (`reason`, `retry_after_s`).
"""

import copy
import json
from functools import cache

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from openapi_schema_validator import OAS30Validator

OPEN_COMPONENTS = {"Error"}


@cache
def api_schema() -> dict:
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


@cache
def closed_components() -> dict:
    """The schema's components, each object with listed properties closed to any other field."""
    components = copy.deepcopy(api_schema()["components"])

    def close(node):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    for name, schema in components["schemas"].items():
        if name not in OPEN_COMPONENTS:
            close(schema)
    return components


def assert_documented(response, operation: str) -> dict:
    """Fail unless `operation` ("METHOD /path/{param}") lists this status and its JSON body; return the body."""
    method, path = operation.split(" ", 1)
    answers = api_schema()["paths"][path][method.lower()]["responses"]
    status = str(response.status_code)
    assert status in answers, f"{operation} answered {status}, which the schema does not list: {response.content[:500]}"
    body_schema = answers[status]["content"]["application/json"]["schema"]
    validator = OAS30Validator(
        {**body_schema, "components": closed_components()}, format_checker=OAS30Validator.FORMAT_CHECKER
    )
    body = response.json()
    problems = [
        f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
        for error in validator.iter_errors(body)
    ]
    assert not problems, f"{operation} {status} is not the documented body:\n" + "\n".join(problems)
    return body
