"""The cases schemathesis found, one by one: what the schema calls invalid is refused with a
400 naming the parameter, what it calls valid is accepted, and the schema lists the answers."""

import json

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db

JOB_RUNS = "/api/v1/scheduler/jobs/cleanup_old_job_runs/runs"
SALES_ORDERS = "/api/v1/erp/sales-orders/"


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def refused(response, parameter: str) -> bool:
    body = response.json()
    return response.status_code == 400 and body["status"] == "error" and parameter in body["errors"]


@pytest.mark.parametrize(
    ("url", "query", "parameter"),
    [
        (JOB_RUNS, {"status": ""}, "status"),  # was: every run, as if no filter was given
        (JOB_RUNS, {"page": "last"}, "page"),  # was: the last page
        (JOB_RUNS, {"page_size": "abc"}, "page_size"),  # was: silently 20
        ("/api/v1/sync-status/list", {"start_date": ""}, "start_date"),  # was: no filter
        ("/api/v1/sync-status/batches", {"status": ""}, "status"),
        ("/api/v1/erp/receivables/", {"unpaid": "null"}, "unpaid"),  # was: no filter
        (SALES_ORDERS, {"status": "0.5"}, "status"),  # was: filtered an integer column by 0.5
        (SALES_ORDERS, {"page": "0"}, "page"),  # was: 404 "invalid page"
        (SALES_ORDERS, {"page_size": "５"}, "page_size"),  # was: 5 (int() reads full-width digits)
        ("/api/admin/records", {"page_size": "-5"}, "page_size"),  # was: silently 1
        ("/api/admin/records", {"status": ""}, "status"),
        ("/api/admin/export", {"start_date": ""}, "start_date"),
        ("/api/v1/notifications/", {"status": ""}, "status"),  # was: every notification
        ("/api/v1/notifications/", {"channel": ""}, "channel"),
        ("/api/v1/alerts/", {"severity": ""}, "severity"),  # was: every severity
    ],
)
def test_a_query_value_the_schema_calls_invalid_is_refused_naming_it(staff_api, url, query, parameter):
    assert refused(staff_api.get(url, query), parameter)


@pytest.mark.parametrize(
    ("url", "query"),
    [
        (SALES_ORDERS, {"ordering": ""}),  # an empty list of orderings: the default order
        (SALES_ORDERS, {"code": ""}),  # an empty text: no filter
        (JOB_RUNS, {"page_size": "500"}),  # above the cap counts as the cap, as documented
        ("/api/admin/records", {"search": "", "page": "1"}),
    ],
)
def test_a_query_the_schema_calls_valid_is_accepted(staff_api, url, query):
    assert staff_api.get(url, query).status_code == 200


def test_a_page_past_the_last_is_a_404_in_the_error_body(staff_api):
    response = staff_api.get(JOB_RUNS, {"page": "2"})
    assert response.status_code == 404
    assert response.json()["status"] == "error"


def test_an_unknown_api_url_answers_json_not_the_html_page(staff_api):
    response = staff_api.get("/api/v1/sync-status/batches/not-a-number")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] == "error"


@pytest.mark.parametrize("body", [None, [None, None], 1.5])
@pytest.mark.parametrize("url", ["/api/config/project-sync", "/api/config/time-display"])
def test_a_project_setting_body_that_is_not_an_object_is_a_400_not_a_500(staff_api, url, body):
    response = staff_api.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["status"] == "error"


def test_every_operation_lists_its_error_answers(schema):
    paths = schema["paths"]
    assert set(paths["/api/v1/scheduler/jobs/{job_id}/runs"]["get"]["responses"]) >= {"200", "400", "401", "403", "404"}
    assert set(paths["/api/v1/scheduler/jobs/{job_id}"]["patch"]["responses"]) >= {"400", "404", "415"}
    assert "409" in paths["/api/v1/sync-status/sync/batch"]["post"]["responses"]
    assert "409" in paths["/api/v1/sync-status/batches/{batch_id}/retry"]["post"]["responses"]
    assert "503" in paths["/api/health"]["get"]["responses"]
    assert "409" in paths["/api/v1/alerts/{alert_id}/acknowledge"]["post"]["responses"]
    assert "409" in paths["/api/v1/alerts/silences/{silence_id}"]["delete"]["responses"]
    assert "429" in paths["/api/upload"]["post"]["responses"]
    assert "202" in paths["/api/projects/sync"]["post"]["responses"]
    assert "503" in paths["/api/projects/{project_id}"]["get"]["responses"]
    assert "400" in paths["/api/projects/{project_id}/verify-access"]["get"]["responses"]


def test_the_schema_states_what_the_serializers_refuse(schema):
    components = schema["components"]["schemas"]
    # {"ids": []} was valid by the schema and refused by the code.
    assert components["RetryRequest"]["properties"]["ids"]["minItems"] == 1
    # "" and "  " were valid by the schema and refused by the code.
    doc_number = components["UploadLinkRequest"]["properties"]["doc_number"]
    assert doc_number["minLength"] == 1 and doc_number["pattern"] == r"\S"
    # PATCH {} was valid by the schema and refused by the code.
    assert components["PatchedJobEditRequest"]["anyOf"] == [{"required": ["cron"]}, {"required": ["enabled"]}]
    page = next(p for p in schema["paths"][SALES_ORDERS]["get"]["parameters"] if p["name"] == "page")
    assert page["schema"]["minimum"] == 1
