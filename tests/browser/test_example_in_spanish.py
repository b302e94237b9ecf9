"""The example project switched to Spanish: an import with errors reads in Spanish.

The worker that checks and imports the file runs in English; every message, number and
date on the pages is rendered for the reader, in Spanish, with Spanish number and date
formats.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.test_example_project import example_env, example_site, log_in

pytestmark = [pytest.mark.browser, pytest.mark.services]
__all__ = ["example_env", "example_site"]  # the fixtures: this module starts its own site

NBSP = "\xa0"  # Spanish groups thousands with a non-breaking space in Django's formats


def test_the_example_in_spanish_imports_a_workbook_with_errors(
    browser: Any, example_site: str, tmp_path: Any
) -> None:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    log_in(page, example_site)
    page.goto(example_site + "/customers/")

    # The language switch at the foot of every page.
    page.select_option("#site-language", "es")
    page.get_by_role("button", name="Switch language").click()
    page.wait_for_function("() => document.documentElement.lang === 'es'")
    page.get_by_role("link", name="Clientes").wait_for()
    # The project's own page and operations speak Spanish too.
    assert page.get_by_role("heading", level=1).inner_text() == "Clientes"
    assert page.get_by_role("link", name="Importar desde una hoja de cálculo").count() == 1
    assert page.get_by_role("button", name="Filtrar").count() == 1
    assert page.get_by_role("button", name="Trasladar").count() == 1

    with page.expect_download() as sample:
        page.locator("a[href$='sample.xlsx']").click()
    workbook = tmp_path / "sample.xlsx"
    sample.value.save_as(workbook)
    page.locator("a[href*='/bulkops/import/']").first.click()
    assert page.locator("html").get_attribute("lang") == "es"
    page.get_by_text("Subir y previsualizar").wait_for()
    page.set_input_files("input[name=file]", str(workbook))
    page.click("form:has(input[name=file]) button[type=submit]")

    # The check runs in the worker (in English); the page speaks Spanish.
    found = page.locator(".bulkops-import-check[data-status=succeeded]")
    found.wait_for(timeout=90_000)
    assert found.locator(".bulkops-will-fail").inner_text() == "5"
    assert found.locator(".bulkops-will-create").inner_text() == f"6{NBSP}995"
    failures = found.locator("#bulkops-import-failures-title").inner_text()
    assert failures == "5 filas no se importarán"
    reasons = found.locator(".bulkops-import-reason").all_inner_texts()
    assert "Introduzca una dirección de correo electrónico válida." in reasons
    assert '"maybe" no es sí o no. Usa sí/no, verdadero/falso o 1/0.' in reasons
    assert "Asegúrate de que este valor tenga como máximo 100 caracteres (tiene 120)." in reasons

    page.click("button[name=confirm]")
    summary = page.locator(".bulkops-import-summary")
    summary.wait_for(timeout=90_000)
    assert summary.locator("h2").inner_text() == "Importación terminada con filas fallidas"
    assert summary.locator(".bulkops-created").inner_text() == f"6{NBSP}995"
    assert summary.locator(".bulkops-failed").inner_text() == "5"

    # The task page: Spanish outcome, stage-free numbers, dates and the row errors.
    summary.get_by_role("link", name="Ver todos los errores de fila").click()
    page.wait_for_url("**/bulkops/tasks/**")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator(".bulkops-badge").first.inner_text() == "Terminada con filas fallidas"
    numbers = page.locator(".bulkops-progress__numbers").inner_text()
    assert f"7{NBSP}000 / 7{NBSP}000 filas" in numbers, numbers
    facts = page.locator(".bulkops-facts").inner_text()
    # Django's Spanish date format: "1 de diciembre de 2026 a las 09:30".
    assert re.search(r"\d{1,2} de [a-z]+ de \d{4} a las \d{2}:\d{2}", facts), facts
    table = page.locator(".bulkops-error-table").inner_text()
    assert "Introduzca una dirección de correo electrónico válida." in table
    assert "Motivo" in table and "Fila" in table

    # The time clock page: headings, buttons and counts.
    page.goto(example_site + "/devices/")
    assert page.get_by_role("heading", level=1).inner_text() == "Relojes de control"
    page.get_by_role("button", name="Descargar asistencia").first.wait_for()
    assert page.get_by_role("heading", name="Marcajes descargados").count() == 1
    context.close()
