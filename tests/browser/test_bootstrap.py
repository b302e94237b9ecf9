"""The library's widgets on a Bootstrap 5 page look as they do on a plain one.

Bootstrap's reboot restyles bare elements (buttons, inputs, tables, ``[hidden]``); the
bulkops stylesheet must hold its own inside it. The test measures what the widgets own
(colours, borders, radii, padding, sizes, visibility) on the plain page, then adds
Bootstrap 5's stylesheet to the very same page and measures again. Typography is left
out: a widget that takes the host page's font is doing the right thing.

Bootstrap's CSS comes from its npm package (``npm pack``), cached between runs.
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
from tests.browser.conftest import log_in, settled
from tests.testapp.models import Customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BOOTSTRAP = "5.3.8"
CACHE = Path(os.environ.get("BULKOPS_CACHE", Path.home() / ".cache" / "bulkops-tests"))

# What each widget owns, measured with getComputedStyle.
PROPERTIES = [
    "display",
    "visibility",
    "color",
    "background-color",
    "border-top-width",
    "border-top-style",
    "border-top-color",
    "border-top-left-radius",
    "padding-top",
    "padding-left",
    "box-sizing",
]
WIDGETS = [
    ".bulkops-actionbar",
    ".bulkops-actionbar .bulkops-button",
    ".bulkops-actionbar .bulkops-button--danger",
    ".bulkops-table th",
    ".bulkops-table td",
    ".bulkops-check",
    "#bulkops-panel .bulkops-progress",
    "#bulkops-panel .bulkops-bar",
    "#bulkops-panel .bulkops-bar__fill",
    "#bulkops-panel .bulkops-badge",
    "#bulkops-panel .bulkops-button",
]
MEASURE = """([selectors, properties]) => Object.fromEntries(selectors.map(selector => {
    const element = document.querySelector(selector);
    if (!element) return [selector, null];
    const style = getComputedStyle(element);
    const box = element.getBoundingClientRect();
    const values = Object.fromEntries(properties.map(p => [p, style.getPropertyValue(p)]));
    values.visible = box.width > 0 && box.height > 0;
    values.inherits = style.color === getComputedStyle(element.parentElement).color;
    values.checkbox = element.type === 'checkbox';
    values.height = Math.round(box.height);
    return [selector, values];
}))"""


@pytest.fixture(scope="module")
def bootstrap_css() -> str:
    """bootstrap.min.css from the npm package, fetched once into the cache."""
    target = CACHE / f"bootstrap-{BOOTSTRAP}.min.css"
    if not target.exists():
        npm = shutil.which("npm")
        if npm is None:
            message = "npm is needed to fetch Bootstrap's CSS (apt-get install -y npm)"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [npm, "pack", f"bootstrap@{BOOTSTRAP}", "--pack-destination", tmp, "--silent"],
                check=True,
                capture_output=True,
                timeout=180,
            )
            (tarball,) = Path(tmp).glob("bootstrap-*.tgz")
            with tarfile.open(tarball) as archive:
                member = archive.extractfile("package/dist/css/bootstrap.min.css")
                assert member is not None
                CACHE.mkdir(parents=True, exist_ok=True)
                target.write_bytes(member.read())
    return target.read_text(encoding="utf-8")


def test_widgets_look_the_same_inside_bootstrap_5(
    page: Any, live_server: Any, customer_user: Any, dummy_backend: Any, bootstrap_css: str
) -> None:
    Customer.objects.bulk_create(
        Customer(name=f"Customer {i}", email=f"c{i}@example.com", city="Lisbon") for i in range(25)
    )
    log_in(page, live_server, customer_user)
    page.goto("/customers/")
    page.get_by_role("button", name="Select all 25 matching").click()
    page.get_by_text("All 25 matching customers selected").wait_for()
    page.get_by_role("button", name="Update", exact=True).click()
    settled(page)
    page.get_by_label("City", exact=True).fill("Faro")
    page.locator("#bulkops-panel .bulkops-confirm").click()
    page.locator("#bulkops-panel .bulkops-progress").wait_for()
    assert BulkTask.objects.get().status == "pending"  # the dummy backend keeps it at 0%

    plain = page.evaluate(MEASURE, [WIDGETS, PROPERTIES])
    missing = [selector for selector, values in plain.items() if values is None]
    assert not missing, f"the page lacks {missing}"
    page.add_style_tag(content=bootstrap_css)
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("system-ui")
    inside = page.evaluate(MEASURE, [WIDGETS, PROPERTIES])

    changed = {
        selector: {
            name: (plain[selector][name], inside[selector][name])
            for name in _owned(plain[selector], inside[selector])
            if plain[selector][name] != inside[selector][name]
        }
        for selector in WIDGETS
    }
    # Colours follow the host's theme (--bs-primary, --bs-border-color, ...): the accent
    # becomes Bootstrap's primary. Nothing else (layout, visibility, shape) changes.
    fill = "#bulkops-panel .bulkops-bar__fill"  # 0% wide while the task waits
    accent = changed.get(fill, {}).get("background-color")
    assert accent in (None, ("rgb(46, 111, 216)", "rgb(13, 110, 253)")), accent
    colours = {"color", "background-color", "border-top-color"}
    layout = {
        selector: {name: pair for name, pair in change.items() if name not in colours}
        for selector, change in changed.items()
    }
    assert not {s: c for s, c in layout.items() if c}, "Bootstrap 5 changed the widgets"
    hidden = [s for s in WIDGETS if s != fill and not inside[s]["visible"]]
    assert not hidden, f"hidden inside Bootstrap 5: {hidden}"
    track = "#bulkops-panel .bulkops-bar"
    assert inside[track]["height"] == plain[track]["height"] > 0


def _owned(plain: dict[str, Any], inside: dict[str, Any]) -> list[str]:
    """The measured properties a widget decides itself.

    A text colour taken from the page is the page's to choose (and must still be taken
    from it inside Bootstrap); a border's colour and style mean nothing at width 0;
    the height follows the page's line height, and is compared for the bar only.
    """
    names = list(PROPERTIES)
    if plain["checkbox"]:  # drawn by the browser: no text colour to keep
        names.remove("color")
    elif plain["inherits"]:
        names.remove("color")
        names.append("inherits")
    if plain["border-top-width"] == inside["border-top-width"] == "0px":
        names = [name for name in names if name not in ("border-top-color", "border-top-style")]
    return names + ["visible"]
