"""Forms of the import pages: the upload, and the options confirmed after the preview."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bulkops.operations.upsert import unique_key_problem
from bulkops.tabular.encodings import ENCODINGS

ENCODING_CHOICES = [("", _("Detect")), *ENCODINGS.items()]

MODE_CHOICES = [
    ("upsert", _("Create new rows and update existing ones")),
    ("create", _("Only create new rows")),
    ("update", _("Only update existing rows")),
]
DATE_CHOICES = [("dmy", _("Day first (31/12/2024)")), ("mdy", _("Month first (12/31/2024)"))]
DECIMAL_CHOICES = [
    ("", _("Detect (refuse ambiguous numbers)")),
    (",", _("Comma (1.234,56)")),
    (".", _("Point (1,234.56)")),
]


class ImportOptionsForm(forms.Form):
    mode = forms.ChoiceField(label=_("What to do"), choices=MODE_CHOICES, initial="upsert")
    key_field = forms.ChoiceField(label=_("Match existing rows by"), required=False)
    dates = forms.ChoiceField(label=_("Dates like 05/03/2024 are"), choices=DATE_CHOICES)
    decimal_separator = forms.ChoiceField(
        label=_("Decimal separator"), choices=DECIMAL_CHOICES, required=False
    )
    sheet = forms.CharField(required=False, widget=forms.HiddenInput)
    atomic = forms.BooleanField(
        label=_("All or nothing: import nothing if any row has an error"), required=False
    )

    def __init__(self, *args: Any, model: Any, key_fields: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model = model
        self.fields["atomic"].label_suffix = ""  # a checkbox label reads as a sentence
        opts = model._meta
        keys = [
            (f.name, str(f.verbose_name))
            for f in opts.concrete_fields
            if not unique_key_problem(model, [f.name]) and not f.primary_key
        ]
        self.fields["key_field"].choices = [("", _("— none —")), *keys]  # type: ignore[attr-defined]
        if key_fields and not self.is_bound:
            self.initial["key_field"] = key_fields[0]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("mode") in ("update", "upsert") and not data.get("key_field"):
            self.add_error("key_field", _("Choose the column that identifies existing rows."))
        return data


class UploadForm(ImportOptionsForm):
    file = forms.FileField(
        label=_("Spreadsheet"),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".xlsx,.xlsm,.xlsb,.ods,.xls,.csv,.tsv,.txt"}
        ),
    )
    # Chosen before the one parse of the upload: changing either means uploading again.
    sheet = forms.CharField(
        label=_("Sheet"),
        required=False,
        max_length=100,
        help_text=_("Leave empty to read the first sheet that holds data."),
    )
    encoding = forms.ChoiceField(
        label=_("Text encoding (CSV files)"),
        required=False,
        choices=ENCODING_CHOICES,
        help_text=_("Detected from the content unless you choose one."),
    )
