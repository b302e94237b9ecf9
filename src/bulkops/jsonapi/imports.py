"""Spreadsheet import through the API: upload → dry-run preview → confirm.

The steps are the import pages' own (``bulkops.views.imports``): the same view class
decides which models have an import and who may run it, the same forms check the
options, the same preview reads the file. Only the answer is JSON, and the staged
upload is named by a signed token bound to the user instead of a session key, so
token-authenticated clients without a session can confirm it.
"""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

import bulkops
from bulkops.conf import settings
from bulkops.jsonapi.http import ApiError, api_view, invalid, json_body
from bulkops.jsonapi.tasks import accepted
from bulkops.operations.imports import limits_from_settings
from bulkops.tabular import TableError
from bulkops.tabular.sniff import human_size
from bulkops.views.import_forms import ImportOptionsForm, UploadForm
from bulkops.views.import_preview import build_preview
from bulkops.views.imports import STAGING, ImportView, SizeLimitHandler, import_params, stage_upload

SALT = "bulkops.jsonapi.import"
MAX_AGE = 24 * 3600


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


def _preview_json(
    view: ImportView,
    token: str,
    staged: dict[str, str],
    options: dict[str, Any],
    mapping: dict[int, str | None] | None,
) -> dict[str, Any]:
    context = build_preview(
        view.get_definition(), staged, options, mapping, default_storage, limits_from_settings()
    )
    return {
        "upload": token,
        "filename": staged["filename"],
        "sheet": context.get("sheet"),
        "sheets": context.get("sheet_names") or [],
        "row_count": context.get("row_count"),
        "columns": context.get("columns", []),
        "fields": [name for name, _label in context.get("field_choices", [])],
        "errors": [
            {"row": e.row, "column": e.column, "message": e.message}
            for e in context.get("errors", [])
        ],
        "failed_rows": context.get("failed_rows", 0),
        "checked_rows": context.get("checked", 0),
        "complete": context.get("complete", False),
        "problem": str(context.get("problem") or ""),
        "can_import": bool(context.get("can_import")) and not context.get("problem"),
    }


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
    """Stage the file and answer the dry run: columns, mapping, first errors; nothing saved."""
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
    try:
        token, staged = stage_upload(upload, view.get_model())
    except TableError as exc:
        raise invalid({"file": [exc.message]}) from None
    signed = signing.dumps(
        {
            "t": token,
            "n": staged["path"].rsplit("/", 1)[-1],
            "f": staged["filename"],
            "m": staged["model"],
            "u": str(request.user.pk),
        },
        salt=SALT,
    )
    options = {k: v for k, v in form.cleaned_data.items() if k != "file"}
    return JsonResponse(_preview_json(view, signed, staged, options, None))


def _staged(request: HttpRequest, view: ImportView, signed: Any) -> dict[str, str]:
    try:
        data = signing.loads(str(signed), salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        raise invalid(
            {"upload": [_("This upload has expired or is unknown; upload the file again.")]}
        ) from None
    staged = {
        "path": f"{STAGING}/{data['t']}/{data['n']}",
        "filename": data["f"],
        "model": data["m"],
    }
    if (
        data["u"] != str(request.user.pk)
        or staged["model"] != view.get_model()._meta.label_lower
        or not default_storage.exists(staged["path"])
    ):
        raise invalid(
            {"upload": [_("This upload has expired or is unknown; upload the file again.")]}
        )
    return staged


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
        for k in ("mode", "key_field", "dates", "decimal_separator", "sheet")
        if body.get(k) is not None
    }
    if body.get("atomic") not in (None, False, "", "false", "0"):
        data["atomic"] = "on"
    data.setdefault("dates", view.options_form(ImportOptionsForm).initial["dates"])
    data.setdefault("mode", "upsert")
    return view.options_form(form_class, data=data, **kwargs)


@api_view(("POST",))
def import_preview(request: HttpRequest, model: str) -> JsonResponse:
    """The dry run again with other options or another column mapping."""
    view = _import_view(request, model)
    body = json_body(request)
    staged = _staged(request, view, body.get("upload"))
    form = _options(view, body)
    form.is_valid()
    options = {**form.initial, **getattr(form, "cleaned_data", {})}
    return JsonResponse(_preview_json(view, str(body["upload"]), staged, options, _mapping(body)))


@api_view(("POST",))
def import_confirm(request: HttpRequest, model: str) -> JsonResponse:
    """Start the import of a staged upload; answers 202 with the task."""
    view = _import_view(request, model)
    body = json_body(request)
    staged = _staged(request, view, body.get("upload"))
    mapping = _mapping(body)
    form = _options(view, body)
    if not form.is_valid():
        raise invalid(_form_errors(form))
    params = import_params(form.cleaned_data, mapping, staged, view.get_definition())
    with default_storage.open(staged["path"], "rb") as handle:
        task = bulkops.submit(
            "import",
            user=request.user,
            model=view.get_model(),
            params=params,
            input_file=File(handle, name=staged["filename"]),
        )
    default_storage.delete(staged["path"])
    task.refresh_from_db()  # a small file may already have run inline
    return accepted(request, task)
