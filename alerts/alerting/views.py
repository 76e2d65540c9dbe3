"""The staff alerts page (`/alerts/`)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_safe

from config.permissions import is_staff_member


@login_required
@require_safe
def alerts_page(request):
    if not is_staff_member(request.user):
        raise PermissionDenied
    return render(request, "alerts/alerts.html", {})
