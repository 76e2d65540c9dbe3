"""The OpenAPI linter of CI: the schema served at /api/schema/ is valid OpenAPI (checked by
openapi-spec-validator), and every operation has a Chinese summary, an area tag and a unique
operationId, so Swagger lists the API by area in Chinese and generated clients get stable names."""

import re

import pytest
from django.conf import settings
from openapi_spec_validator import validate

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def schema(client, staff_user):
    client.force_login(staff_user)
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


@pytest.mark.django_db
def test_the_served_schema_is_valid_openapi(schema):
    validate(schema)  # raises, naming the first problem and where it is


@pytest.mark.django_db
def test_every_operation_has_a_chinese_summary(schema):
    missing = [name for name, op in operations(schema) if not re.search(r"[\u4e00-\u9fff]", op.get("summary", ""))]
    assert not missing, "add these to config.schema.SUMMARIES (or a Chinese summary= on the view): " + ", ".join(
        missing
    )


@pytest.mark.django_db
def test_every_operation_is_tagged_with_one_declared_area(schema):
    declared = {tag["name"] for tag in settings.SPECTACULAR_SETTINGS["TAGS"]}
    assert {tag["name"] for tag in schema["tags"]} == declared
    wrong = {name: op.get("tags") for name, op in operations(schema) if len(op.get("tags", [])) != 1}
    wrong |= {name: op["tags"] for name, op in operations(schema) if op.get("tags") and op["tags"][0] not in declared}
    assert not wrong, wrong
    used = {op["tags"][0] for _name, op in operations(schema)}
    assert {"uploads", "sync", "erp", "scheduler", "alerts", "projects"} <= used


@pytest.mark.django_db
def test_operation_ids_are_present_and_unique(schema):
    ids = [op.get("operationId") for _name, op in operations(schema)]
    assert all(ids)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


@pytest.mark.django_db
def test_the_english_summary_of_a_view_is_kept_in_the_description(schema):
    upload = schema["paths"]["/api/upload"]["post"]
    assert upload["summary"] == "上传一张单据的照片"
    assert upload["description"].startswith("Upload photos of one business document")
    assert upload["tags"] == ["uploads"]


def untyped_responses(schema):
    """Each answer whose body is an object with no properties: Swagger shows it as `additionalProp1`."""
    components = schema["components"]["schemas"]

    def resolved(body):
        while "$ref" in body:
            body = components[body["$ref"].rsplit("/", 1)[-1]]
        return body

    for name, operation in operations(schema):
        for code, response in operation.get("responses", {}).items():
            for content_type, content in response.get("content", {}).items():
                body = resolved(content.get("schema", {}))
                composed = any(key in body for key in ("allOf", "oneOf", "anyOf"))
                if body.get("type") == "object" and not body.get("properties") and not composed:
                    yield f"{name} {code} {content_type}"


@pytest.mark.django_db
def test_every_json_answer_is_described_field_by_field(schema):
    untyped = list(untyped_responses(schema))
    assert not untyped, "describe these answers with a serializer (errors: config.schema.ErrorSerializer):\n" + (
        "\n".join(untyped)
    )
