from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

import bulkops
from bulkops.contrib.zk.models import AttendanceRecord, Device, FingerTemplate
from bulkops.models import BulkTask
from bulkops.views.tasks import render_progress
from devices.models import Employee

# Button name -> (operation, params).
JOBS = {
    "push": ("zk.push_users", {}),
    "push-exact": ("zk.push_users", {"remove_missing": True}),
    "pull": ("zk.pull_users", {}),
    "download": ("zk.download_attendance", {}),
    "download-clear": ("zk.download_attendance", {"clear": True}),
}


@login_required
def device_list(request: HttpRequest) -> HttpResponse:
    devices = Device.objects.annotate(punches=Count("attendance_records"))
    recent = BulkTask.objects.visible_to(request.user).filter(operation__startswith="zk.")[:5]
    return render(
        request,
        "devices/device_list.html",
        {
            "devices": devices,
            "employees": Employee.objects.count(),
            "fingerprints": FingerTemplate.objects.count(),
            "recent": recent,
            **punches_context(),
        },
    )


@login_required
@permission_required("bulkops_zk.change_device", raise_exception=True)
@require_POST
def start_sync(request: HttpRequest, job: str) -> HttpResponse:
    if job not in JOBS:
        raise Http404(job)
    operation, params = JOBS[job]
    device = request.POST.get("device")
    if device:
        params = {**params, "devices": [device]}
    try:
        task = bulkops.submit(operation, user=request.user, params=params)
    except ValidationError as exc:
        return HttpResponse(f'<p class="bulkops-error">{" ".join(exc.messages)}</p>', status=422)
    except PermissionDenied:
        return HttpResponse('<p class="bulkops-error">Not allowed.</p>', status=403)
    if request.htmx:  # type: ignore[attr-defined]
        return render_progress(request, task)
    return redirect(task)


@login_required
def punches(request: HttpRequest) -> HttpResponse:
    """The latest downloaded punches; the page reloads it when a job finishes."""
    return render(request, "devices/punches.html", punches_context())


def punches_context() -> dict[str, object]:
    return {
        "latest": AttendanceRecord.objects.order_by("-timestamp", "-pk")[:15],
        "punches": AttendanceRecord.objects.count(),
    }
