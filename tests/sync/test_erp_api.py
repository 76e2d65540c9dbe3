"""Synced documents for integrators: GET /api/v1/erp/<type>/ with filters and DRF paging."""

from datetime import date

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from sync import services
from sync.models import SalesOrder

URL = "/api/v1/erp/sales-orders/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_days(sandbox):
    sandbox.faults(records_per_day=25)
    services.sync_day(business_date=date(2025, 10, 1))
    services.sync_day(business_date=date(2025, 10, 2))


def test_sales_orders_are_filtered_by_business_date_and_paged_with_a_count(staff_api, two_days):
    body = staff_api.get(URL, {"business_date": "2025-10-02", "page_size": 10}).json()

    assert body["count"] == 25
    assert len(body["results"]) == 10
    assert body["next"]
    assert {row["business_date"] for row in body["results"]} == {"2025-10-02"}
    row = body["results"][0]
    for column in ("code", "customer_name", "business_date", "amount", "status", "delivery_date", "remote_id", "pubts"):
        assert column in row
    page3 = staff_api.get(URL, {"business_date": "2025-10-02", "page_size": 10, "page": 3}).json()
    assert len(page3["results"]) == 5


def test_sales_orders_filter_by_customer_code_status_and_ranges(staff_api, two_days):
    order = SalesOrder.objects.filter(business_date=date(2025, 10, 1)).first()

    assert staff_api.get(URL, {"code": order.code}).json()["count"] == 1
    by_customer = staff_api.get(URL, {"customer": order.customer_name[:4], "page_size": 100}).json()
    assert by_customer["count"] == SalesOrder.objects.filter(customer_name=order.customer_name).count()
    assert (
        staff_api.get(URL, {"status": order.status}).json()["count"]
        == SalesOrder.objects.filter(status=order.status).count()
    )
    assert (
        staff_api.get(URL, {"business_date_from": "2025-10-01", "business_date_to": "2025-10-02"}).json()["count"] == 50
    )
    cheap = staff_api.get(URL, {"amount_max": "20000"}).json()["count"]
    assert cheap == SalesOrder.objects.filter(amount__lte=20000).count()
    ordered = staff_api.get(URL, {"ordering": "-amount"}).json()["results"]
    assert ordered[0]["amount"] == str(SalesOrder.objects.order_by("-amount").first().amount)


def test_a_bad_filter_value_is_a_400(staff_api):
    response = staff_api.get(URL, {"business_date": "yesterday"})
    assert response.status_code == 400
    assert response.json()["status"] == "error"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/erp/purchase-orders/",
        "/api/v1/erp/purchase-arrivals/",
        "/api/v1/erp/receivables/",
        "/api/v1/erp/material-stock/",
        "/api/v1/erp/production-orders/",
    ],
)
def test_every_declared_document_type_is_synced_and_listed(staff_api, two_days, path):
    body = staff_api.get(path, {"business_date": "2025-10-01"}).json()
    assert body["count"] == 25
    assert body["results"][0]["code"]


def test_an_integrator_with_the_view_permission_may_read_but_a_field_user_may_not(
    django_user_model, field_api, two_days
):
    assert field_api.get(URL).status_code == 403
    integrator = django_user_model.objects.create_user("erp-reader", password="x")
    integrator.user_permissions.add(Permission.objects.get(codename="view_salesorder"))
    api = APIClient()
    api.force_authenticate(integrator)
    assert api.get(URL).status_code == 200
    assert api.get("/api/v1/erp/receivables/").status_code == 403
