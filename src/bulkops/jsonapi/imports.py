"""Spreadsheet import through the API: upload → dry-run preview → confirm.

The steps are the import pages' own (``bulkops.views.imports``): the same view class
decides which models have an import and who may run it, the same forms check the
options, the same preview reads the file. Only the answer is JSON, and the staged
upload is named by a signed token bound to the user instead of a session key, so
token-authenticated clients without a session can confirm it.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from bulkops.conf import settings
from bulkops.jsonapi.http import ApiError, api_view, from_validation_error, invalid, json_body
from bulkops.jsonapi.serialize import task_json
from bulkops.jsonapi.tasks import accepted
from bulkops.models import BulkTask
from bulkops.operations.imports import limits_from_settings
from bulkops.tabular import TableError
from bulkops.tabular.names import display_name
from bulkops.tabular.sniff import human_size
from bulkops.views.import_forms import ImportOptionsForm, UploadForm
from bulkops.views.import_preview import build_preview
from bulkops.views.import_staging import STAGING, restage, stage_upload
from bulkops.views.imports import ImportView, SizeLimitHandler

SALT = "bulkops.jsonapi.import"
MAX_AGE = 24 * 3600
# Failing rows of the dry run listed in the answer; all of them are at the check's errors link.
CHECK_ERRORS = 20


def _import_view(request: HttpRequest, model: str) -> ImportView:
    view = ImportView()
    view.setup(request, model=model)
    view.get_model()  # 404 unless the model has an import
    view.check_permission()
    return view


def _form_errors(form: Any) -> dict[str, list[str]]:
    return {
        (name if name != "__all__" else "non_field_errors"): [str(m) for m in messages]
        for name, messages in form.errors.items()
    }


def _sign(request: HttpRequest, staged: dict[str, Any], check: BulkTask | None) -> str:
    """The staged upload as a token bound to the user (no session needed to confirm it)."""
    return signing.dumps(
        {
            "p": staged["path"],
            "o": staged.get("original", ""),
            "f": staged["filename"],
            "r": staged.get("rows", 0),
            "s": staged.get("sheet", ""),
            "e": staged.get("encoding", ""),
            "m": staged["model"],
            "u": str(request.user.pk),
            "c": str(check.pk) if check is not None else "",
        },
        salt=SALT,
    )


def _dry_run(
    request: HttpRequest,
    view: ImportView,
    staged: dict[str, Any],
    options: dict[str, Any],
    mapping: dict[int, str | None] | None,
    *,
    previous_check: str = "",
    problem: str = "",
) -> JsonResponse:
    """The preview's columns and the dry run of the whole file, as the import page shows them.

    The dry run is the page's own check: an ``import`` task with ``dry_run`` that has run
    already when the file is small, or that the client follows like any other task.
    """
    try:
        context = build_preview(
            view.get_definition(), staged, options, mapping, default_storage, limits_from_settings()
        )
    except TableError as exc:  # a stored file damaged on disk: a message, never a 500
        context = {"problem": exc.message}
    problem = problem or str(context.get("problem") or "")
    can_import = bool(context.get("can_import")) and not problem
    check = None
    if can_import:
        try:
            check = view.submit_check(staged, options, mapping, previous=previous_check or None)
        except (ValidationError, PermissionDenied) as exc:
            problem = " ".join(getattr(exc, "messages", None) or [str(exc)])
            can_import = False
    errors = []
    if check is not None and check.is_finished:
        errors = [
            {"row": e.row, "column": e.field, "message": e.message}
            for e in check.errors.exclude(row=None).order_by("row", "pk")[:CHECK_ERRORS]
        ]
    return JsonResponse(
        {
            "upload": _sign(request, staged, check),
            "filename": staged["filename"],
            "sheet": context.get("sheet"),
            "sheets": context.get("sheet_names") or [],
            "row_count": context.get("row_count"),
            "columns": context.get("columns", []),
            "fields": [name for name, _label in context.get("field_choices", [])],
            "problem": problem,
            "can_import": can_import,
            "check": task_json(check, request) if check is not None else None,
            "errors": errors,
        }
    )


@csrf_exempt  # the size is checked before anything reads the body; CSRF in api_view
def import_upload(request: HttpRequest, model: str) -> Any:
    limit = int(settings.MAX_UPLOAD_SIZE)
    if request.method == "POST":
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > limit + 64 * 1024:
            return ApiError(
                413,
                "too_large",
                _("The file is %(size)s; the largest file accepted is %(limit)s.")
                % {"size": human_size(declared), "limit": human_size(limit)},
                {"file": [_("The largest file accepted is %s.") % human_size(limit)]},
            ).response()
        guard = SizeLimitHandler(limit)
        request.upload_handlers.insert(0, guard)
        request._bulkops_size_guard = guard  # type: ignore[attr-defined]
    return _import_upload(request, model)


@api_view(("POST",))
def _import_upload(request: HttpRequest, model: str) -> JsonResponse:
    """Parse and store the file once, then answer its columns and the dry run."""
    view = _import_view(request, model)
    limit = int(settings.MAX_UPLOAD_SIZE)
    form = _options(view, request.POST, UploadForm, files=request.FILES)
    guard = getattr(request, "_bulkops_size_guard", None)
    valid = form.is_valid()
    if guard is not None and guard.exceeded:
        raise ApiError(
            413,
            "too_large",
            _("The file is larger than %s, the largest file accepted.") % human_size(limit),
            {"file": [_("The largest file accepted is %s.") % human_size(limit)]},
        )
    if not valid:
        raise invalid(_form_errors(form))
    upload = form.cleaned_data["file"]
    if upload.size > limit:
        raise ApiError(
            413,
            "too_large",
            _("The file is %(size)s; the largest file accepted is %(limit)s.")
            % {"size": human_size(upload.size), "limit": human_size(limit)},
            {"file": [_("The largest file accepted is %s.") % human_size(limit)]},
        )
    try:
        # The one parse of this upload, under the import pages' limits.
        entry = stage_upload(
            upload.file,
            filename=display_name(upload.name),
            token=uuid.uuid4().hex,
            storage=default_storage,
            limits=limits_from_settings(),
            sheet=form.cleaned_data.get("sheet") or None,
            encoding=form.cleaned_data.get("encoding") or None,
        )
    except TableError as exc:
        raise invalid({"file": [exc.message]}) from None
    staged = {**entry, "model": view.get_model()._meta.label_lower}
    options = {k: v for k, v in form.cleaned_data.items() if k not in ("file", "encoding", "sheet")}
    return _dry_run(request, view, staged, options, None)


def _staged(request: HttpRequest, view: ImportView, signed: Any) -> tuple[dict[str, Any], str]:
    """The staged upload a token names, and the dry run last started for it."""
    gone = invalid({"upload": [_("This upload has expired or is unknown; upload the file again.")]})
    try:
        data = signing.loads(str(signed), salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        raise gone from None
    staged = {
        "path": data["p"],
        "original": data["o"],
        "filename": data["f"],
        "rows": data["r"],
        "sheet": data["s"],
        "encoding": data["e"],
        "model": data["m"],
    }
    if (
        data["u"] != str(request.user.pk)
        or staged["model"] != view.get_model()._meta.label_lower
        or not str(staged["path"]).startswith(STAGING + "/")
        or not default_storage.exists(staged["path"])
    ):
        raise gone
    return staged, data["c"]


def _mapping(body: dict[str, Any]) -> dict[int, str | None] | None:
    raw = body.get("mapping")
    if raw is None:
        return None
    if not isinstance(raw, dict) or not all(
        str(k).isdigit() and (v is None or isinstance(v, str)) for k, v in raw.items()
    ):
        raise invalid({"mapping": [_('Map column positions to field names, like {"0": "name"}.')]})
    return {int(k): (v or None) for k, v in raw.items()}


def _options(
    view: ImportView,
    body: Any,
    form_class: type[ImportOptionsForm] = ImportOptionsForm,
    **kwargs: Any,
) -> Any:
    """The pages' options form over the API's fields; what a client leaves out defaults."""
    data = {
        k: body[k]
        for k in ("mode", "key_field", "dates", "decimal_separator", "sheet", "encoding")
        if body.get(k) is not None
    }
    if body.get("atomic") not in (None, False, "", "false", "0"):
        data["atomic"] = "on"
    data.setdefault("dates", view.options_form(ImportOptionsForm).initial["dates"])
    data.setdefault("mode", "upsert")
    return view.options_form(form_class, data=data, **kwargs)


@api_view(("POST",))
def import_preview(request: HttpRequest, model: str) -> JsonResponse:
    """The dry run again with other options, another column mapping or another sheet.

    The answer holds a new ``upload`` token: confirm with the latest one.
    """
    view = _import_view(request, model)
    body = json_body(request)
    staged, check = _staged(request, view, body.get("upload"))
    form = _options(view, body)
    if not form.is_valid():
        raise invalid(_form_errors(form))
    options = {**form.initial, **form.cleaned_data}
    sheet = options.get("sheet") or ""
    problem = ""
    if sheet and staged["original"] and sheet != staged["sheet"]:
        try:  # another sheet was picked: the one case where the file is read again
            staged = restage(
                staged,
                token=staged["path"].split("/")[-2],
                storage=default_storage,
                limits=limits_from_settings(),
                sheet=sheet,
            )
        except TableError as exc:
            problem = exc.message
    return _dry_run(
        request, view, staged, options, _mapping(body), previous_check=check, problem=problem
    )


@api_view(("POST",))
def import_confirm(request: HttpRequest, model: str) -> JsonResponse:
    """Start the import of a staged upload; answers 202 with the task."""
    view = _import_view(request, model)
    body = json_body(request)
    staged, _check = _staged(request, view, body.get("upload"))
    mapping = _mapping(body)
    form = _options(view, body)
    if not form.is_valid():
        raise invalid(_form_errors(form))
    try:
        task = view.submit_import(staged, form.cleaned_data, mapping)
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    view.discard(staged)
    return accepted(request, task)
