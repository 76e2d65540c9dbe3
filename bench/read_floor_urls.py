"""URLs for bench/project_read.py: the whole app, plus a bare view that answers the same JSON from
the same row with nothing in between (no DRF, no authentication, no link check) — the floor."""

from django.http import JsonResponse
from django.urls import include, path

from projects import selectors
from projects.presenters import project_payload


def bare_project(request, project_id: str):
    project = selectors.cached_project(source="main", remote_id=project_id, parts=selectors.CUSTOMER_PARTS)
    data = {**project_payload(project, for_customer=True), "stale": False, "stale_reason": ""}
    return JsonResponse({"status": "success", "data": data}, json_dumps_params={"ensure_ascii": False})


urlpatterns = [path("bench/bare/<str:project_id>", bare_project), path("", include("config.urls"))]
