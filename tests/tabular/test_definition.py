"""Import definitions against real models: matching, cleaning, bulk lookups, messages."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulkops.tabular import ConversionError, ConvertOptions, TableError, to_date
from bulkops.tabular.columns import Column
from bulkops.tabular.definition import ImportDefinition, definition_for, register_import

from .models_app.models import Country, Customer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def madrid() -> Any:
    # Naive spreadsheet times are read in the current time zone.
    with timezone.override("Europe/Madrid"):
        yield


class CustomerImport(ImportDefinition):
    model = Customer
    lookups = {"country": "code"}
    key_fields = ["email"]


HEADERS = [
    "Name",
    "E-mail Address",
    "Phone",
    "Country",
    "Joined",
    "Balance",
    "Active",
    "Status",
    "Visits",
    "Last seen",
]


def row(**overrides: Any) -> list[Any]:
    values = {
        "Name": "Ann",
        "E-mail Address": "ann@example.com",
        "Phone": 34600123456.0,
        "Country": "ES",
        "Joined": "05/03/2024",
        "Balance": "1.234,50",
        "Active": "sí",
        "Status": "On hold",
        "Visits": 12.0,
        "Last seen": "2024-03-05 10:20",
    }
    values.update(overrides)
    return [values[h] for h in HEADERS]


@pytest.fixture
def countries() -> None:
    Country.objects.bulk_create(
        [Country(code="ES", name="Spain"), Country(code="FR", name="France")]
    )


def test_default_fields_are_concrete_editable_without_pk() -> None:
    names = [f.name for f in ImportDefinition(Customer).get_fields()]
    assert names == [
        "name",
        "email",
        "phone",
        "country",
        "joined",
        "balance",
        "active",
        "status",
        "visits",
        "last_seen",
    ]


@pytest.mark.parametrize(
    "header",
    ["E-mail Address", "email_address", "Email address", "email", "EMAIL", " e-mail  address "],
)
def test_header_matched_by_name_or_verbose_name(header: str) -> None:
    bound = CustomerImport().bind(["Name", header], mode="update")
    assert [(c.header, c.field.name) for c in bound.columns] == [
        ("Name", "name"),
        (header, "email"),
    ]


def test_foreign_key_natural_key_headers() -> None:
    for header in ("Country", "country code", "Country_Code", "country__code"):
        bound = CustomerImport().bind(["email", header], mode="update")
        assert bound.columns[1].field.name == "country"


def test_unknown_headers_ignored_and_reported() -> None:
    bound = CustomerImport().bind(["Name", "Email", "Notes", "Errors"])
    assert bound.ignored_headers == ["Notes", "Errors"]


def test_missing_required_column_for_create() -> None:
    with pytest.raises(TableError) as info:
        CustomerImport().bind(["Email"], mode="create")
    assert info.value.code == "missing_columns"
    assert info.value.message == 'The file has no column for "name".'


def test_missing_key_column_for_update() -> None:
    with pytest.raises(TableError) as info:
        CustomerImport().bind(["Name"], mode="update")
    assert info.value.message == 'The file has no column for "e-mail address".'


def test_duplicate_columns() -> None:
    with pytest.raises(TableError) as info:
        CustomerImport().bind(["Name", "Email", "E-mail address"])
    assert info.value.code == "duplicate_columns"
    assert info.value.message == (
        'The columns "Email" and "E-mail address" both fill e-mail address; keep only one.'
    )


def test_no_matching_columns() -> None:
    with pytest.raises(TableError) as info:
        CustomerImport().bind(["foo", "bar"])
    assert info.value.code == "no_matching_columns"
    assert info.value.message.startswith("None of the column headers match. Expected headers")


def test_user_mapping_overrides_matching() -> None:
    bound = CustomerImport().bind(
        ["Full name", "Mail", "Phone"], mapping={0: "name", 1: "email", 2: None}
    )
    assert [(c.header, c.field.name) for c in bound.columns] == [
        ("Full name", "name"),
        ("Mail", "email"),
    ]
    with pytest.raises(TableError) as info:
        CustomerImport().bind(["a"], mapping={0: "password"})
    assert info.value.code == "bad_mapping"


def test_clean_good_row(countries: None) -> None:
    bound = CustomerImport().bind(HEADERS)
    result = bound.clean_chunk([(2, row())])
    assert result.errors == []
    data = result.rows[0].data
    assert data["name"] == "Ann"
    assert data["phone"] == "34600123456"
    assert data["country_id"] == Country.objects.get(code="ES").pk
    assert data["joined"] == datetime.date(2024, 3, 5)
    assert data["balance"] == Decimal("1234.50")
    assert data["active"] is True
    assert data["status"] == "paused"  # matched by its label
    assert data["visits"] == 12
    assert data["last_seen"].tzinfo is not None
    assert data["last_seen"].utcoffset() == datetime.timedelta(hours=1)  # Europe/Madrid in March


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"E-mail Address": "not-an-email"},
            'Row 9, column "E-mail Address": Enter a valid email address.',
        ),
        ({"Name": None}, 'Row 9, column "Name": This field cannot be blank.'),
        (
            {"Name": "x" * 101},
            'Row 9, column "Name": Ensure this value has at most 100 characters (it has 101).',
        ),
        ({"Country": "XX"}, 'Row 9, column "Country": No country with code "XX".'),
        (
            {"Joined": "31/02/2024"},
            'Row 9, column "Joined": "31/02/2024" is not a date. Use YYYY-MM-DD or DD/MM/YYYY.',
        ),
        ({"Balance": "abc"}, 'Row 9, column "Balance": "abc" is not a number.'),
        (
            {"Balance": "123456789,50"},
            'Row 9, column "Balance": Ensure that there are no more than 10 digits in total.',
        ),
        (
            {"Active": "maybe"},
            'Row 9, column "Active": "maybe" is not yes or no. Use yes/no, true/false or 1/0.',
        ),
        ({"Status": "gone"}, "Row 9, column \"Status\": Value 'gone' is not a valid choice."),
        (
            {"Visits": -1},
            'Row 9, column "Visits": Ensure this value is greater than or equal to 0.',
        ),
        ({"Visits": 2.5}, 'Row 9, column "Visits": "2.5" is not a whole number.'),
        (
            {"Last seen": "2024-03-31 02:30"},
            'Row 9, column "Last seen": 2024-03-31 02:30 does not exist or is ambiguous in the '
            "time zone Europe/Madrid (a daylight saving change).",
        ),
    ],
)
def test_row_errors_name_row_and_header(
    countries: None, overrides: dict[str, Any], message: str
) -> None:
    result = CustomerImport().bind(HEADERS).clean_chunk([(9, row(**overrides))])
    assert [str(e) for e in result.errors] == [message]
    assert result.rows == []
    assert result.failed == {9: row(**overrides)}


def test_several_errors_in_one_row(countries: None) -> None:
    result = (
        CustomerImport()
        .bind(HEADERS)
        .clean_chunk([(4, row(**{"E-mail Address": "bad", "Balance": "x"}))])
    )
    assert [str(e) for e in result.errors] == [
        'Row 4, column "E-mail Address": Enter a valid email address.',
        'Row 4, column "Balance": "x" is not a number.',
    ]


def test_empty_cells(countries: None) -> None:
    result = (
        CustomerImport()
        .bind(HEADERS)
        .clean_chunk(
            [
                (
                    2,
                    row(
                        Phone=None,
                        Country=None,
                        Joined=None,
                        Balance=None,
                        Active=None,
                        Visits=None,
                        Status=None,
                    ),
                )
            ]
        )
    )
    assert result.errors == []
    data = result.rows[0].data
    assert data["phone"] == ""
    assert data["country_id"] is None
    assert data["joined"] is None
    assert data["visits"] is None
    assert data["active"] is False  # an empty checkbox column means no
    assert "balance" not in data and "status" not in data  # their defaults apply


def test_leading_zeros_kept_from_text_cells(countries: None) -> None:
    result = CustomerImport().bind(HEADERS).clean_chunk([(2, row(Phone="0034600"))])
    assert result.rows[0].data["phone"] == "0034600"


def test_foreign_keys_resolved_with_one_query_per_chunk(countries: None) -> None:
    bound = CustomerImport().bind(HEADERS)
    chunk = [
        (i, row(**{"E-mail Address": f"u{i}@x.io", "Country": ("ES", "FR", "XX")[i % 3]}))
        for i in range(2, 302)
    ]
    with CaptureQueriesContext(connection) as queries:
        result = bound.clean_chunk(chunk)
    assert len(queries) == 1
    assert len(result.rows) == 200 and len(result.errors) == 100
    with CaptureQueriesContext(connection) as queries:
        bound.clean_chunk(chunk)
    assert len(queries) == 0  # known keys are cached across chunks


def test_custom_converter_and_alias(countries: None) -> None:
    class UsDates(CustomerImport):
        columns = {
            "joined": Column(
                aliases=["Signup"],
                converter=lambda v, o: to_date(v, ConvertOptions(day_first=False)),
            )
        }

    bound = UsDates().bind(["Name", "Email", "Signup"])
    result = bound.clean_chunk([(2, ["Ann", "a@x.io", "03/05/2024"])])
    assert result.rows[0].data["joined"] == datetime.date(2024, 3, 5)


def test_month_first_option() -> None:
    bound = CustomerImport(day_first=False).bind(["Name", "Email", "Joined"])
    result = bound.clean_chunk([(2, ["Ann", "a@x.io", "12/31/2024"])])
    assert result.rows[0].data["joined"] == datetime.date(2024, 12, 31)


def test_decimal_separator_option() -> None:
    bound = CustomerImport(decimal_separator=",").bind(["Name", "Email", "Balance"])
    result = bound.clean_chunk([(2, ["Ann", "a@x.io", "1.234"]), (3, ["Bo", "b@x.io", "1,23"])])
    assert [r.data["balance"] for r in result.rows] == [Decimal(1234), Decimal("1.23")]


def test_clean_row_hook() -> None:
    class Strict(CustomerImport):
        def clean_row(self, data: dict[str, Any], row: int) -> dict[str, Any]:
            if data.get("phone") and not data["phone"].startswith("+"):
                raise ValidationError({"phone": "Start with the country prefix, e.g. +34."})
            if data["name"] == "Nobody":
                raise ValidationError("This row describes nobody.")
            return data

    bound = Strict().bind(["Name", "Email", "Phone"])
    result = bound.clean_chunk([(2, ["Ann", "a@x.io", "600"]), (3, ["Nobody", "n@x.io", None])])
    assert [str(e) for e in result.errors] == [
        'Row 2, column "Phone": Start with the country prefix, e.g. +34.',
        "Row 3: This row describes nobody.",
    ]


def test_model_form_validation() -> None:
    class CustomerForm(forms.ModelForm):  # type: ignore[type-arg]
        class Meta:
            model = Customer
            fields = ["name", "email"]

        def clean_name(self) -> str:
            name = self.cleaned_data["name"]
            if name.islower():
                raise ValidationError("Capitalise the name.")
            return name

    bound = CustomerImport(form_class=CustomerForm).bind(["Name", "Email"])
    result = bound.clean_chunk([(2, ["ann", "a@x.io"]), (3, ["Bob", "b@x.io"])])
    assert [str(e) for e in result.errors] == ['Row 2, column "Name": Capitalise the name.']
    assert [r.row for r in result.rows] == [3]


def test_registry() -> None:
    assert type(definition_for(Country)) is ImportDefinition

    @register_import
    class CountryImport(ImportDefinition):
        model = Country

    try:
        assert type(definition_for(Country)) is CountryImport
    finally:
        from bulkops.tabular import definition

        definition._registry.pop(Country)


def test_unknown_option_rejected() -> None:
    with pytest.raises(TypeError):
        ImportDefinition(Customer, colums={})


cells = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(min_value=-1e6, max_value=1e6).map(lambda f: float(round(f))),
    st.dates(min_value=datetime.date(1900, 3, 1)),
    st.sampled_from(
        [
            "active",
            "Active",
            "On hold",
            " paused ",
            "x",
            "",
            "  ",
            "a@b.io",
            "bad@",
            "12",
            "1,5",
            "1.234,5",
            "\x00",
            "\u200bcode",
            "x" * 120,
        ]
    ),
    st.text(max_size=30),
    st.emails(),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(cells, min_size=1, max_size=40),
    st.sampled_from(["name", "email", "phone", "balance", "visits", "status", "joined", "active"]),
)
def test_whole_column_cleaning_equals_per_cell(column_cells: list[Any], field_name: str) -> None:
    from bulkops.tabular.columns import SKIP, build_cleaner, many_cleaner

    model_field = Customer._meta.get_field(field_name)
    assert isinstance(model_field, models.Field)
    clean = build_cleaner(model_field, Column(), ConvertOptions())
    expected_values, expected_failures = [], {}
    for index, raw in enumerate(column_cells):
        try:
            expected_values.append(clean(raw))
        except ConversionError as exc:
            expected_values.append(None)
            expected_failures[index] = exc.message
    many = many_cleaner(build_cleaner(model_field, Column(), ConvertOptions()))
    values, failures = many(list(column_cells))
    assert {i: str(m) for i, m in failures.items()} == expected_failures
    assert [(v is SKIP, v, type(v)) for v in values] == [
        (v is SKIP, v, type(v)) for v in expected_values
    ]
