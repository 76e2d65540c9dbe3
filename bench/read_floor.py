"""Settings and URLs for bench/project_read.py: the whole app, plus a bare view that answers the
same JSON from the same row with nothing in between (no DRF, no link check) — the floor."""

from django.http import JsonResponse
from django.urls import include, path

from config.settings import *  # noqa: F403 (the real settings, one URLconf more)

ROOT_URLCONF = "bench.read_floor"


def bare_project(request, project_id: str):
    from projects import selectors
    from projects.presenters import project_payload

    project = selectors.cached_project(source="main", remote_id=project_id)
    data = {**project_payload(project, for_customer=True), "stale": False, "stale_reason": ""}
    return JsonResponse({"status": "success", "data": data}, json_dumps_params={"ensure_ascii": False})


urlpatterns = [path("bench/bare/<str:project_id>", bare_project), path("", include("config.urls"))]
