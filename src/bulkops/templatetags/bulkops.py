from __future__ import annotations

from datetime import timedelta
from typing import Any

import django
from django import template
from django.template.context import Context
from django.utils import formats
from django.utils.translation import gettext

from bulkops.models import BulkTask

register = template.Library()


@register.simple_tag
def bulkops_admin_list_breadcrumbs() -> bool:
    """Whether the admin draws breadcrumbs as a list (``<ol>``, Django 6.0+) or a ``<div>``."""
    return django.VERSION >= (6, 0)


@register.filter
def bulkops_duration(value: timedelta | None) -> str:
    """A short human duration in the reader's language: "4 s", "2 min 05 s", "1 h 03 min"."""
    if value is None:
        return "–"
    seconds = int(value.total_seconds())
    if seconds < 60:
        return gettext("%(seconds)s s") % {"seconds": seconds}
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return gettext("%(minutes)s min %(seconds)s s") % {
            "minutes": minutes,
            "seconds": f"{seconds:02d}",
        }
    hours, minutes = divmod(minutes, 60)
    return gettext("%(hours)s h %(minutes)s min") % {
        "hours": formats.number_format(hours, force_grouping=True),
        "minutes": f"{minutes:02d}",
    }


@register.filter
def bulkops_number(value: int | None) -> str:
    """12345 -> "12,345" (English), "12.345" (Spanish): counts read at a glance, grouped
    the reader's way whatever USE_THOUSAND_SEPARATOR says."""
    return "–" if value is None else formats.number_format(value, force_grouping=True)


@register.filter
def bulkops_rate(value: float | None) -> str:
    if not value:
        return "–"
    rate = formats.number_format(round(value), force_grouping=True)
    return gettext("%(rate)s/s") % {"rate": rate}


@register.simple_tag
def bulkops_noun(count: int, singular: Any, plural: Any) -> Any:
    """The model's name for ``count`` rows, so one plural message needs one name only."""
    return singular if count == 1 else plural


@register.filter
def bulkops_milestone(task: BulkTask) -> str:
    """What a screen reader is told about: the state, and each quarter of the rows while running."""
    if task.is_finished or task.status != BulkTask.Status.RUNNING:
        return task.state
    return f"{task.status} {task.percent // 25 * 25}"


@register.inclusion_tag("bulkops/partials/progress.html", takes_context=True)
def bulkops_progress(context: Context, task: BulkTask) -> dict[str, Any]:
    """Drop a live progress bar for ``task`` into any template."""
    from bulkops.views.tasks import progress_context

    return {
        **progress_context(task),
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
    }


# List views with BulkMixin: the action bar and the row checkboxes.


@register.inclusion_tag("bulkops/partials/bulk.html", takes_context=True)
def bulkops_action_bar(context: Context) -> dict[str, Any]:
    """The action bar and the panel where confirmations and progress appear."""
    return {"bulk": context["bulk"], "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("bulkops/partials/checkbox.html", takes_context=True)
def bulkops_checkbox(context: Context, obj: Any) -> dict[str, Any]:
    """The selection checkbox of one row."""
    return bulkops_checkbox_for(context["bulk"], obj.pk, label=str(obj))


@register.inclusion_tag("bulkops/partials/checkbox.html")
def bulkops_checkbox_for(
    bulk: dict[str, Any], pk: Any, oob: bool = False, label: str = ""
) -> dict[str, Any]:
    return {
        "pk": str(pk),
        "label": label or f"#{pk}",
        "checked": str(pk) in bulk["selected"],
        "url": bulk["url"],
        "oob": oob,
    }


@register.inclusion_tag("bulkops/partials/select_page.html", takes_context=True)
def bulkops_select_page(context: Context) -> dict[str, Any]:
    """The header checkbox that selects every row on the current page."""
    return bulkops_select_page_for(context["bulk"])


@register.inclusion_tag("bulkops/partials/select_page.html")
def bulkops_select_page_for(bulk: dict[str, Any], oob: bool = False) -> dict[str, Any]:
    return {"checked": bulk["page_selected"], "url": bulk["url"], "oob": oob}
