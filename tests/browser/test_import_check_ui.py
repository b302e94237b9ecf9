"""The import preview in Chromium: each row says what will happen, failing cells and reasons
are on the page (no hovering), and axe-core finds no serious accessibility violation, in a
light and a dark colour scheme and at phone width.

axe-core comes from its npm package (``npm pack``), cached between runs like Bootstrap in
test_bootstrap.py, and is injected into the page under test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pytest

from bulkops.models import BulkTask
from tests.browser.conftest import log_in
from tests.tabular.conftest import countries, importer, registered  # noqa: F401  (fixtures)
from tests.tabular.files import xlsx_bytes
from tests.tabular.models_app.models import Customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = "4.10.3"
CACHE = Path(os.environ.get("BULKOPS_CACHE", Path.home() / ".cache" / "bulkops-tests"))
SERIOUS = ("serious", "critical")


@pytest.fixture(scope="module")
def axe_js() -> str:
    """axe.min.js from the npm package, fetched once into the cache."""
    target = CACHE / f"axe-core-{AXE}.min.js"
    if not target.exists():
        npm = shutil.which("npm")
        if npm is None:
            message = "npm is needed to fetch axe-core (apt-get install -y npm)"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [npm, "pack", f"axe-core@{AXE}", "--pack-destination", tmp, "--silent"],
                check=True,
                capture_output=True,
                timeout=180,
            )
            (tarball,) = Path(tmp).glob("axe-core-*.tgz")
            with tarfile.open(tarball) as archive:
                member = archive.extractfile("package/axe.min.js")
                assert member is not None
                CACHE.mkdir(parents=True, exist_ok=True)
                target.write_bytes(member.read())
    return target.read_text(encoding="utf-8")


def serious_violations(page: Any, axe_js: str) -> list[str]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_js)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in result["violations"]
        if v["impact"] in SERIOUS
    ]


def test_preview_marks_rows_shows_reasons_and_passes_axe(
    page: Any,
    live_server: Any,
    importer: Any,  # noqa: F811
    registered: Any,  # noqa: F811
    countries: Any,  # noqa: F811
    tmp_path: Path,
    axe_js: str,
) -> None:
    Customer.objects.create(name="Ann", email="ann@example.com")
    Customer.objects.create(name="Bob", email="bob@example.com", phone="1")
    rows: list[list[Any]] = [["Name", "Email", "Country"]]
    rows += [["Ann", "ann@example.com", None], ["Bobby", "bob@example.com", "ES"]]
    rows += [["Cid", "not-an-email", "ES"], ["Dee", "dee@example.com", "XX"]]
    rows += [[f"New {i}", f"n{i}@example.com", "PT"] for i in range(60)]
    path = tmp_path / "people.xlsx"
    path.write_bytes(xlsx_bytes(rows))

    log_in(page, live_server, importer)
    page.goto(f"{live_server.url}/bulkops/import/tabular_models.customer/")
    page.set_input_files("input[name=file]", str(path))
    page.click("button[type=submit]")
    check = page.locator(".bulkops-import-check[data-status=succeeded]")
    check.wait_for()  # 64 rows: checked inside the request

    assert check.locator(".bulkops-will-create").inner_text() == "60"
    assert check.locator(".bulkops-will-update").inner_text() == "1"
    assert check.locator(".bulkops-will-skip").inner_text() == "1"
    assert check.locator(".bulkops-will-fail").inner_text() == "2"
    outcome = {
        n: page.locator(f"#bulkops-row-{n} .bulkops-import-outcome").inner_text().strip()
        for n in (2, 3, 4, 5, 6)
    }
    assert outcome[2] == "Unchanged"
    assert outcome[3].split() == ["Changed", "Name,", "Country"]
    assert outcome[4] == "Error\nEnter a valid email address."
    assert outcome[5] == 'Error\nNo country with code "XX".'
    assert outcome[6] == "New"

    # The failing cell stands out without hovering: outlined, and its row is tinted.
    bad = page.locator("#bulkops-row-4 td.bulkops-import-bad-cell")
    assert bad.count() == 1 and bad.inner_text().startswith("not-an-email")
    style = bad.evaluate(
        "e => [getComputedStyle(e).outlineStyle,"
        " getComputedStyle(e.parentElement.firstElementChild).backgroundColor]"
    )
    assert style[0] == "solid" and style[1] not in ("rgba(0, 0, 0, 0)", "transparent")
    reason = page.locator("#bulkops-reason-4")
    assert reason.is_visible() and bad.get_attribute("aria-describedby") == "bulkops-reason-4"
    # Screen readers get the row's state and the problem in words.
    name = page.evaluate(
        "() => document.querySelector('#bulkops-row-4 td.bulkops-import-bad-cell').textContent"
    )
    assert "this value is the problem" in name
    assert page.get_by_role("table", name="Rows 2 to 51").count() == 1

    shots = os.environ.get("BULKOPS_SCREENSHOTS")
    if shots:
        page.screenshot(path=f"{shots}/import-check-light.png", full_page=True)
    assert serious_violations(page, axe_js) == []

    # The next page of rows, through htmx.
    page.get_by_role("link", name="Next rows").click()
    page.locator("#bulkops-row-52").wait_for()
    assert page.locator("#bulkops-row-65 .bulkops-import-marker--new").is_visible()

    page.emulate_media(color_scheme="dark")
    page.get_by_role("link", name="Previous rows").click()
    page.locator("#bulkops-row-4").wait_for()
    dark = page.locator("#bulkops-row-4 .bulkops-import-marker--error").evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    assert dark == "rgb(85, 22, 12)"  # the dark scheme's pair
    if shots:
        page.screenshot(path=f"{shots}/import-check-dark.png", full_page=True)
    assert serious_violations(page, axe_js) == []

    page.set_viewport_size({"width": 390, "height": 800})
    overflow = page.evaluate("() => document.documentElement.scrollWidth")
    assert overflow <= 390, "the page scrolls sideways at phone width"
    assert serious_violations(page, axe_js) == []
    assert Customer.objects.count() == 2
    assert BulkTask.objects.filter(params__dry_run=True).count() == 1
