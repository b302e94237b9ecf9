from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.db import models
from django.utils.functional import Promise

from bulkops import texts
from bulkops.operations.steps import Confirmation, Step
from bulkops.permissions import has_model_permission
from bulkops.texts import Text
from bulkops.types import UserLike

StrOrPromise = str | Promise

if TYPE_CHECKING:
    from bulkops.context import RunContext
    from bulkops.models import BulkTask


class Operation:
    """A kind of bulk job. Subclass it, set ``name`` and implement :meth:`run`.

    One instance serves one submit or one run; keep no state between the two,
    everything the worker needs goes into the cleaned ``params``.
    """

    # Identity
    name: ClassVar[str] = ""
    label: ClassVar[StrOrPromise] = ""

    # What the job needs and who may start it
    requires_queryset: ClassVar[bool] = False
    # Model permission action ("add", "change", "delete", "view") checked at submit time.
    permission: ClassVar[str | None] = None
    # Whether two unfinished jobs of this operation on the same model must not overlap.
    locks_model: ClassVar[bool] = False
    # Seconds this job may run; None falls back to BULKOPS["TIME_LIMIT"].
    time_limit: ClassVar[float | None] = None
    # Whether a big job may be split into shards that workers run at once, when
    # BULKOPS["SHARDING"] is on (docs/sharding.md). The operation then reads its part
    # through the run context (``ctx.queryset``, ``ctx.shard``) and must not depend on
    # rows of other parts.
    shardable: ClassVar[bool] = False

    # The step before running, rendered by the list view, the admin and the JSON API:
    # a form whose cleaned data become params (None: no form), and a confirmation.
    form_class: ClassVar[type[forms.Form] | None] = None
    # The key of the JSON API body that holds the form's data.
    api_params_key: ClassVar[str] = "params"
    # The list view's template suffix for the step ("confirm": the form, counts, warning).
    step_template: ClassVar[str] = "confirm"

    def get_form(self, step: Step, data: Mapping[str, Any] | None = None) -> forms.Form | None:
        """The form the user fills before the job starts, bound to ``data`` when given."""
        if self.form_class is None:
            return None
        # The list page has its own forms (filters): keep ids apart.
        return self.form_class(data, auto_id="bulkops_%s")

    def params_from_form(self, form: forms.Form, step: Step) -> dict[str, Any]:
        """The submit params from a valid form."""
        return dict(form.cleaned_data)

    def form_data(self, params: Mapping[str, Any], step: Step) -> dict[str, Any]:
        """Form data from the object a JSON API body holds under ``api_params_key``."""
        return dict(params)

    def get_confirmation(self, step: Step) -> Confirmation | None:
        """What to show before running; None runs without asking.

        A surface may turn the question off with ``options={"confirm": False}``.
        """
        if step.options.get("confirm") is False:
            return None
        return Confirmation()

    def has_permission(self, user: UserLike, model: type[models.Model] | None) -> bool:
        if not user.is_authenticated:
            return False
        if self.permission is None or model is None:
            return True
        return has_model_permission(user, model, self.permission)

    def clean_params(
        self,
        params: dict[str, Any],
        *,
        model: type[models.Model] | None,
        queryset: models.QuerySet[Any] | None,
        user: UserLike | None,
    ) -> dict[str, Any]:
        """Validate at submit time; raise ``ValidationError`` naming the field at fault."""
        return params

    def get_total(self, task: BulkTask) -> int | None:
        """Rows the job will process, when it can be known cheaply at submit time."""
        queryset = task.get_queryset()
        return None if queryset is None else queryset.count()

    def get_label(self, task: BulkTask) -> Text | str:
        """What the pages call the task: a text (bulkops.texts) or plain text."""
        model = task.model_class
        label = texts.label(self.label or self.name)
        if model is None:
            return label
        return texts.gettext(
            "%(operation)s %(models)s",
            operation=label,
            models=texts.label(model._meta.verbose_name_plural),
        )

    def plan_shards(self, task: BulkTask, count: int) -> list[dict[str, Any]]:
        """The parts of ``task``'s input, as ``params["shard"]`` of each shard (plus its
        row ``total``); fewer than two means the job is not split. By default: primary-key
        ranges of the selection."""
        from bulkops.sharding import pk_ranges

        queryset = task.get_queryset()
        if queryset is None or not task.total:
            return []
        return pk_ranges(queryset, task.total, count)

    def after_shards(self, parent: BulkTask) -> None:
        """Called once, in the worker that settled ``parent`` (every shard has ended),
        before the task's finished signal: for work that needs the whole job, such as a
        file built from what every shard did. Nothing by default."""

    def run(self, ctx: RunContext) -> dict[str, Any] | None:
        raise NotImplementedError(f"{type(self).__qualname__} must implement run(ctx).")


class FunctionOperation(Operation):
    """An operation made from a plain function ``f(ctx)`` by ``@bulkops.operation``."""

    function: ClassVar[Callable[[RunContext], dict[str, Any] | None]]

    def get_total(self, task: BulkTask) -> int | None:
        return None if not task.model else super().get_total(task)

    def run(self, ctx: RunContext) -> dict[str, Any] | None:
        return type(self).function(ctx)
