from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

import bulkops
from bulkops.models import BulkTask
from bulkops.views.tasks import render_progress


@login_required
def home(request: HttpRequest) -> HttpResponse:
    recent = BulkTask.objects.visible_to(request.user)[:5]
    return render(request, "example/home.html", {"recent": recent})


@login_required
@require_POST
def start_demo_job(request: HttpRequest) -> HttpResponse:
    task = bulkops.submit("example.fingerprint", user=request.user, params={"records": 3_000_000})
    if request.htmx:  # type: ignore[attr-defined]
        return render_progress(request, task)
    return redirect(task)


@login_required
def api_demo(request: HttpRequest) -> HttpResponse:
    """A page in plain JavaScript that uses only the JSON API (no htmx, no build step)."""
    return render(request, "example/api_demo.html")
