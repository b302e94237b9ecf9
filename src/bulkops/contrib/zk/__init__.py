"""ZKTeco time clock support: a safe pyzk client, a device simulator, and (as a Django
app, ``"bulkops.contrib.zk"`` in INSTALLED_APPS) device models and bulk operations.

Importing this package imports neither Django nor pyzk; install the ``zk`` extra
(pyzk, GPL-2.0) for the client and the operations.
"""
