from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bulkops.contrib.zk.models import Device, FingerTemplate
from bulkops.contrib.zk.simulator import SimulatedDevice, Simulator

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


def test_changelists_render(admin_client: Any) -> None:
    Device.objects.create(name="Gate", host="127.0.0.1", port=4370)
    FingerTemplate._default_manager.create(user_id="1007", finger=3, template=b"\x01" * 812)
    for url in ["/admin/bulkops_zk/device/", "/admin/bulkops_zk/attendancerecord/"]:
        assert admin_client.get(url).status_code == 200
    page = admin_client.get("/admin/bulkops_zk/fingertemplate/")
    assert page.status_code == 200 and "1007" in page.content.decode()
    assert "812" in page.content.decode()  # the size, never the bytes


def test_test_connection_action(
    admin_client: Any, make_simulator: Callable[..., Simulator]
) -> None:
    sim = make_simulator(SimulatedDevice(serial_number="ADMIN0001"))
    good = Device.objects.create(name="Good", host=sim.host, port=sim.port, timeout=1)
    bad = Device.objects.create(name="Bad", host="127.0.0.1", port=1, timeout=1)
    response = admin_client.post(
        "/admin/bulkops_zk/device/",
        {"action": "test_connection", "_selected_action": [good.pk, bad.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert "Good: serial ADMIN0001, 0 users, 0 records" in text
    assert "Device &#x27;Bad&#x27; (127.0.0.1:1): connection refused" in text
    bad.refresh_from_db()
    good.refresh_from_db()
    assert "refused" in bad.last_error and good.serial_number == "ADMIN0001"
