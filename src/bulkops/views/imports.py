"""Import pages: upload → preview with an editable column mapping → confirm → progress → result."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.apps import apps
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt, csrf_protect

import bulkops
from bulkops import texts
from bulkops.conf import settings
from bulkops.models import BulkTask
from bulkops.operations.imports import limits_from_settings
from bulkops.permissions import has_model_permission
from bulkops.tabular import TableError
from bulkops.tabular.definition import ImportDefinition, _registry, definition_for
from bulkops.tabular.names import display_name, storage_name
from bulkops.tabular.sniff import human_size
from bulkops.tabular.stored import SUFFIX
from bulkops.views.import_check import check_context
from bulkops.views.import_forms import ImportOptionsForm, UploadForm
from bulkops.views.import_staging import STAGING, restage, stage_upload

SESSION_KEY = "bulkops_imports"


class SizeLimitHandler(FileUploadHandler):
    """First upload handler: drops a file once it passes the limit, without storing it."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise SkipFile  # the rest of this file is read and discarded, never stored
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


@method_decorator(csrf_exempt, name="dispatch")  # CSRF is checked in dispatch, after the size
class ImportView(LoginRequiredMixin, View):
    """The whole import flow for one model, one URL per step (selected by ``step``).

    Configure with ``ImportView.as_view(model=Customer)`` or a subclass; the generic
    ``bulkops:import`` URL serves every model registered with ``register_import``.
    """

    model: type[models.Model] | None = None
    definition: ImportDefinition | None = None
    template_name = "bulkops/import/page.html"
    step = "page"
    size_guard: SizeLimitHandler | None = None
    # Files with fewer rows are checked inside the preview request; larger ones by a
    # background task with its own progress bar.
    check_inline_rows = 2_000

    # Configuration hooks ---------------------------------------------------------
    def get_model(self) -> type[models.Model]:
        if self.model is not None:
            return self.model
        label = self.kwargs.get("model", "")
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            raise Http404("No such model.") from None
        if model not in _registry:
            raise Http404("This model has no import.")  # only opted-in models are exposed
        return model

    def get_definition(self) -> ImportDefinition:
        return self.definition or definition_for(self.get_model())

    def get_urls(self) -> dict[str, str]:
        label = self.get_model()._meta.label_lower
        return {
            step: reverse(f"bulkops:import-{step}", kwargs={"model": label})
            for step in ("upload", "preview", "confirm")
        } | {"page": reverse("bulkops:import", kwargs={"model": label})}

    def check_permission(self) -> None:
        if not has_model_permission(self.request.user, self.get_model(), "add", "change"):
            raise PermissionDenied

    # Dispatch ----------------------------------------------------------------------
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.kwargs = kwargs
        self.check_permission()
        if request.method == "POST" and self.step == "upload":
            # Before anything reads the body (the CSRF check would): refuse by the declared
            # length, and cap what the upload handlers accept when the length lies.
            limit = int(settings.MAX_UPLOAD_SIZE)
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
            if declared > limit + 64 * 1024:
                return self.upload_error(
                    _("The file is %(size)s; the largest file accepted is %(limit)s.")
                    % {"size": human_size(declared), "limit": human_size(limit)},
                    status=413,
                )
            self.size_guard = SizeLimitHandler(limit)
            request.upload_handlers.insert(0, self.size_guard)
        return csrf_protect(super().dispatch)(request, *args, **kwargs)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.step != "page":
            raise Http404
        return self.render(self.template_name, {"form": self.options_form(UploadForm)})

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        handler = {"upload": self.upload, "preview": self.preview, "confirm": self.confirm}.get(
            self.step
        )
        if handler is None:
            raise Http404
        return handler(request)

    # Steps -------------------------------------------------------------------------
    def upload(self, request: HttpRequest) -> HttpResponse:
        limit = int(settings.MAX_UPLOAD_SIZE)
        form = self.options_form(UploadForm, data=request.POST, files=request.FILES)
        if self.size_guard is not None and self.size_guard.exceeded:
            return self.upload_error(
                _("The file is larger than %s, the largest file accepted.") % human_size(limit),
                status=413,
            )
        if not form.is_valid():
            return self.render("bulkops/import/upload_form.html", {"form": form}, status=400)
        upload = form.cleaned_data["file"]
        if upload.size > limit:
            return self.upload_error(
                str(
                    texts.gettext(
                        '"%(file)s" is %(size)s; the largest file accepted is %(limit)s.',
                        file=upload.name,
                        size=human_size(upload.size),
                        limit=human_size(limit),
                    )
                ),
                status=413,
            )
        filename = display_name(upload.name)
        token = uuid.uuid4().hex
        try:
            # The one parse of this upload: later steps read the stored rows.
            entry = stage_upload(
                upload.file,
                filename=filename,
                token=token,
                storage=default_storage,
                limits=limits_from_settings(),
                sheet=form.cleaned_data.get("sheet") or None,
                encoding=form.cleaned_data.get("encoding") or None,
            )
        except TableError as exc:
            return self.upload_error(exc.message, form=form)
        staged = request.session.setdefault(SESSION_KEY, {})
        staged[token] = {**entry, "model": self.get_model()._meta.label_lower}
        request.session.modified = True
        options = {
            k: v for k, v in form.cleaned_data.items() if k not in ("file", "encoding", "sheet")
        }
        return self.render_preview(token, options, mapping=None)

    def preview(self, request: HttpRequest) -> HttpResponse:
        token, staged = self.staged(request)
        form = self.options_form(ImportOptionsForm, data=request.POST)
        form.is_valid()
        options = {**form.initial, **form.cleaned_data}
        sheet = options.get("sheet") or ""
        if sheet and staged.get("original") and sheet != staged.get("sheet"):
            try:  # another sheet was picked: the one case where the file is read again
                staged = restage(
                    staged,
                    token=token,
                    storage=default_storage,
                    limits=limits_from_settings(),
                    sheet=sheet,
                )
            except TableError as exc:
                return self.render_preview(
                    token, options, mapping=None, form=form, problem=exc.message
                )
            request.session[SESSION_KEY][token] = staged
            request.session.modified = True
        return self.render_preview(token, options, mapping=self.posted_mapping(request), form=form)

    def confirm(self, request: HttpRequest) -> HttpResponse:
        token, staged = self.staged(request)
        form = self.options_form(ImportOptionsForm, data=request.POST)
        mapping = self.posted_mapping(request)
        if not form.is_valid():
            options = {**form.initial, **form.cleaned_data}
            return self.render_preview(token, options, mapping=mapping, form=form)
        data = form.cleaned_data
        try:
            task = self.submit_import(staged, data, mapping)
        except ValidationError as exc:
            return self.render_preview(
                token, data, mapping=mapping, form=form, problem=" ".join(exc.messages)
            )
        self.forget(request, token)
        context = {"task": task, "poll_interval": settings.POLL_INTERVAL, "errors": []}
        return self.render("bulkops/import/started.html", context)

    # Helpers -----------------------------------------------------------------------
    def import_params(
        self, data: dict[str, Any], mapping: dict[int, str | None] | None, staged: dict[str, str]
    ) -> dict[str, Any]:
        """The import task's params from the options form (the check uses the same)."""
        params = {
            "mode": data.get("mode") or "upsert",
            "key_fields": [data["key_field"]] if data.get("key_field") else [],
            "mapping": {str(k): v for k, v in mapping.items()} if mapping is not None else None,
            "day_first": data.get("dates") != "mdy",
            "decimal_separator": data.get("decimal_separator") or None,
            "atomic": bool(data.get("atomic")),
            "filename": staged["filename"],
            "sheet": data.get("sheet") or None,
            "stored": True,  # input_file is the table the upload step stored
        }
        definition_class = type(self.get_definition())
        qualname = definition_class.__qualname__
        if definition_class is not ImportDefinition and "<locals>" not in qualname:
            # The worker may run in another process: name the definition, not the model.
            params["definition"] = f"{definition_class.__module__}.{qualname}"
        return params

    def submit_import(
        self, staged: dict[str, Any], data: dict[str, Any], mapping: dict[int, str | None] | None
    ) -> BulkTask:
        """Start the import of a staged upload with confirmed options (pages and JSON API)."""
        with default_storage.open(staged["path"], "rb") as handle:
            task = bulkops.submit(
                "import",
                user=self.request.user,
                model=self.get_model(),
                params=self.import_params(data, mapping, staged),
                input_file=File(handle, name=storage_name(staged["filename"]) + SUFFIX),
            )
        task.refresh_from_db()  # a small file may already have run inline
        return task

    def start_check(
        self, token: str, options: dict[str, Any], mapping: dict[int, str | None] | None
    ) -> BulkTask:
        """The dry run of the whole file with these options; inline when the file is small."""
        staged = self.request.session[SESSION_KEY][token]
        task = self.submit_check(staged, options, mapping, previous=staged.get("check"))
        staged["check"] = str(task.pk)
        self.request.session.modified = True
        return task

    def submit_check(
        self,
        staged: dict[str, Any],
        options: dict[str, Any],
        mapping: dict[int, str | None] | None,
        *,
        previous: str | None = None,
    ) -> BulkTask:
        """Submit the dry run of a staged upload (the pages and the JSON API share it)."""
        if previous:
            # Options changed: the check of the old options is of no use any more.
            old = BulkTask.objects.visible_to(self.request.user).filter(pk=previous).first()
            if old is not None and not old.is_finished:
                bulkops.cancel(old)
        params = {**self.import_params(options, mapping, staged), "dry_run": True}
        with default_storage.open(staged["path"], "rb") as handle:
            task = bulkops.submit(
                "import",
                user=self.request.user,
                model=self.get_model(),
                params=params,
                input_file=File(handle, name=storage_name(staged["filename"]) + SUFFIX),
                sync_threshold=self.check_inline_rows,
            )
        task.refresh_from_db()  # a small file has been checked already
        return task

    def options_form(self, form_class: type[ImportOptionsForm], **kwargs: Any) -> Any:
        definition = self.get_definition()
        initial = {
            "dates": "dmy" if definition.day_first else "mdy",
            "decimal_separator": definition.decimal_separator or "",
            **kwargs.pop("initial", {}),
        }
        return form_class(
            model=self.get_model(),
            key_fields=list(definition.key_fields),
            initial=initial,
            **kwargs,
        )

    def staged(self, request: HttpRequest) -> tuple[str, dict[str, str]]:
        token = request.POST.get("token", "")
        staged = request.session.get(SESSION_KEY, {}).get(token)
        if not staged or staged["model"] != self.get_model()._meta.label_lower:
            raise Http404("This upload has expired; upload the file again.")
        return token, staged

    def forget(self, request: HttpRequest, token: str) -> None:
        staged = request.session.get(SESSION_KEY, {}).pop(token, None)
        request.session.modified = True
        if staged:
            self.discard(staged)

    @staticmethod
    def discard(staged: dict[str, Any]) -> None:
        """Delete a staged upload's stored rows and its original."""
        for key in ("path", "original"):
            if staged.get(key):
                default_storage.delete(staged[key])

    @staticmethod
    def posted_mapping(request: HttpRequest) -> dict[int, str | None] | None:
        if "mapping" not in request.POST:
            return None
        mapping: dict[int, str | None] = {}
        for key, value in request.POST.items():
            if key.startswith("map_") and key[4:].isdigit():
                mapping[int(key[4:])] = str(value) or None
        return mapping

    def upload_error(self, message: str, *, status: int = 400, form: Any = None) -> HttpResponse:
        form = form or self.options_form(UploadForm)
        return self.render(
            "bulkops/import/upload_form.html", {"form": form, "file_error": message}, status=status
        )

    def render(self, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
        model = self.get_model()
        context = {
            "model_opts": model._meta,
            "urls": self.get_urls(),
            "base_template": settings.BASE_TEMPLATE,
            "max_upload": str(human_size(int(settings.MAX_UPLOAD_SIZE))),
            **context,
        }
        return TemplateResponse(self.request, template, context, status=status)

    def render_preview(
        self,
        token: str,
        options: dict[str, Any],
        *,
        mapping: dict[int, str | None] | None,
        form: Any = None,
        problem: str = "",
    ) -> HttpResponse:
        from bulkops.views.import_preview import build_preview

        staged = self.request.session[SESSION_KEY][token]
        form = form or self.options_form(ImportOptionsForm, initial=options)
        if form.is_bound is False:
            form.initial.update({k: v for k, v in options.items() if v is not None})
        try:
            context = build_preview(
                self.get_definition(),
                staged,
                options,
                mapping,
                default_storage,
                limits_from_settings(),
            )
        except TableError as exc:  # a stored file damaged on disk: a message, never a 500
            context = {"filename": staged["filename"], "problem": exc.message}
        context.update(
            {"token": token, "form": form, "problem": problem or context.get("problem", "")}
        )
        if context.get("can_import") and not context["problem"] and not form.errors:
            try:
                check = self.start_check(token, options, mapping)
            except (ValidationError, PermissionDenied) as exc:
                messages = getattr(exc, "messages", None) or [str(exc)]
                context.update(problem=" ".join(messages), can_import=False)
            else:
                context.update(check_context(check))
        return self.render("bulkops/import/preview.html", context)


class ImportResultView(LoginRequiredMixin, View):
    """The result of an import task: its counts and the error report."""

    def get(self, request: HttpRequest, pk: Any) -> HttpResponse:
        task = get_object_or_404(
            BulkTask.objects.visible_to(request.user), pk=pk, operation="import"
        )
        return TemplateResponse(
            request,
            "bulkops/import/result.html",
            {"task": task, "result": task.result or {}},
        )


def purge_staged_uploads(older_than: datetime.timedelta = datetime.timedelta(days=1)) -> int:
    """Delete uploads that were previewed but never confirmed; returns how many.

    Meant for a periodic job (``bulkops_cleanup``); confirmed uploads are removed at once.
    """
    cutoff = timezone.now() - older_than
    removed = 0
    try:
        tokens, _ = default_storage.listdir(STAGING)
    except (FileNotFoundError, NotImplementedError):
        return 0
    for token in tokens:
        folder = f"{STAGING}/{token}"
        _, names = default_storage.listdir(folder)
        for name in names:
            path = f"{folder}/{name}"
            if default_storage.get_modified_time(path) < cutoff:
                default_storage.delete(path)
                removed += 1
    return removed
