"""The test project under ASGI (uvicorn), counting its database reads.

``GET /__queries__`` answers how many queries this process ran, and how many read the
task table: the stream tests and the benchmark compare watchers by these numbers.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application
from django.db.backends.signals import connection_created

# Static files too (htmx and its SSE extension for the browser test), as runserver would.
django_application = ASGIStaticFilesHandler(get_asgi_application())
COUNTS = {"queries": 0, "task_reads": 0}


def _count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    COUNTS["queries"] += 1
    if sql.lstrip().upper().startswith("SELECT") and '"bulkops_bulktask"' in sql.split("WHERE")[0]:
        COUNTS["task_reads"] += 1
    return execute(sql, params, many, context)


def _install(sender: Any, connection: Any, **kwargs: Any) -> None:
    if _count not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count)


connection_created.connect(_install)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"] == "/__queries__":
        body = json.dumps(COUNTS).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    await django_application(scope, receive, send)
