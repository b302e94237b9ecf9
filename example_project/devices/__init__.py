"""The example project's time clock page (bulkops.contrib.zk).

Wiring, in example/settings.py::

    INSTALLED_APPS += ["bulkops.contrib.zk", "devices"]
    BULKOPS["ZK"] = {
        "EMPLOYEE_MODEL": "devices.Employee",
        "FIELDS": {"user_id": "badge", "name": "full_name", "card": "card_number",
                   "privilege": "is_admin", "group_id": "department"},
    }

in example/urls.py: ``path("devices/", include("devices.urls"))``; and in
scripts/example, before the web server::

    python -m bulkops.contrib.zk.simulator --port 4370 --users 20 --fingers 2 --records 5000 &
    manage.py devices_setup          # demo employees + a Device at 127.0.0.1:4370
"""
