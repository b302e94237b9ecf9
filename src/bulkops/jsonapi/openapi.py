"""The OpenAPI 3.1 document of the JSON API, served at ``api/openapi.json``.

Written by hand next to the views it describes (they are plain Django views); the
tests validate it with openapi-spec-validator and run schemathesis against a live
server, so a response that leaves this document fails CI.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.http import HttpRequest, JsonResponse
from django.urls import reverse

import bulkops
from bulkops.jsonapi.schemas import SCHEMAS, SSE_EVENT, error, json_content, obj, page, ref

TASK_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}
PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {
        "name": "page_size",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
    },
]
COMMON = {
    "401": error("Not authenticated."),
    "405": error("Method not allowed."),
}
READ = {**COMMON, "404": error("No such task, or not yours.")}
WRITE = {
    **READ,
    "400": error("Invalid fields; `errors` names each one."),
    "403": error("CSRF check failed (session), or not permitted."),
    "409": error("The task is not in a state that allows this."),
}


def _op(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "responses": responses, **extra}


def paths(prefix: str) -> dict[str, Any]:
    task = f"{prefix}tasks/{{id}}/"
    return {
        f"{prefix}tasks/": {
            "get": _op(
                "The caller's tasks, newest first.",
                {
                    "200": json_content(page("Task"), "A page of tasks."),
                    "400": error("An unknown filter value."),
                    **COMMON,
                },
                operationId="listTasks",
                parameters=[
                    *PAGING,
                    {"name": "status", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "outcome",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "succeeded, partial, failed or cancelled",
                    },
                    {"name": "operation", "in": "query", "schema": {"type": "string"}},
                    {"name": "all", "in": "query", "schema": {"type": "string", "enum": ["1"]}},
                ],
            )
        },
        task: {
            "parameters": [TASK_ID],
            "get": _op(
                "One task.",
                {"200": json_content(ref("Task"), "The task."), **READ},
                operationId="getTask",
            ),
        },
        f"{task}errors/": {
            "parameters": [TASK_ID],
            "get": _op(
                "The task's row errors, by row.",
                {
                    "200": json_content(page("RowError"), "A page of row errors."),
                    "400": error("A bad page number."),
                    **READ,
                },
                operationId="listTaskErrors",
                parameters=PAGING,
            ),
        },
        f"{task}errors.csv": {
            "parameters": [TASK_ID],
            "get": _op(
                "Every row error as CSV.",
                {
                    "200": {
                        "description": "CSV",
                        "content": {"text/csv": {"schema": {"type": "string"}}},
                    },
                    **READ,
                },
                operationId="downloadTaskErrors",
            ),
        },
        f"{task}download/": {
            "parameters": [TASK_ID],
            "get": _op(
                "The task's result file (an export, an import's error report).",
                {
                    "200": {
                        "description": "The file, as an attachment.",
                        # The file's own type (xlsx, csv, ...).
                        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                    },
                    **READ,
                },
                operationId="downloadTaskFile",
            ),
        },
        f"{task}events/": {
            "parameters": [TASK_ID],
            "get": _op(
                "Server-sent events: `progress` on each change, then `finished`.",
                {
                    "200": {
                        "description": "An event stream (ASGI) or one event and a retry hint "
                        "(WSGI).",
                        "content": {"text/event-stream": {"schema": SSE_EVENT}},
                    },
                    **READ,
                },
                operationId="streamTaskEvents",
                parameters=[
                    {
                        "name": "format",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["html"]},
                    }
                ],
            ),
        },
        f"{task}cancel/": {
            "parameters": [TASK_ID],
            "post": _op(
                "Ask the task to stop.",
                {"200": json_content(ref("Task"), "The task, cancelled or stopping."), **WRITE},
                operationId="cancelTask",
            ),
        },
        f"{task}retry/": {
            "parameters": [TASK_ID],
            "post": _op(
                "Run a failed, cancelled or stalled task again from its checkpoint.",
                {"202": json_content(ref("Task"), "The task, queued again."), **WRITE},
                operationId="retryTask",
            ),
        },
        f"{task}retry-failed/": {
            "parameters": [TASK_ID],
            "post": _op(
                "A new task over only the rows that failed.",
                {"202": json_content(ref("Task"), "The new task."), **WRITE},
                operationId="retryFailedRows",
            ),
        },
        f"{prefix}actions/": {
            "get": _op(
                "The bulk actions the caller may run, per exposed list view, and the "
                "operations it may start on their own.",
                {
                    "200": json_content(
                        obj(
                            {
                                "results": {"type": "array", "items": ref("ExposedView")},
                                "operations": {
                                    "type": "array",
                                    "items": obj(
                                        {
                                            "name": {"type": "string"},
                                            "label": {"type": "string"},
                                            "url": {"type": "string", "format": "uri"},
                                        }
                                    ),
                                },
                            }
                        ),
                        "Exposed views and operations.",
                    ),
                    **COMMON,
                },
                operationId="listActions",
            )
        },
        f"{prefix}actions/{{view}}/{{action}}/": {
            "parameters": [
                {"name": "view", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "action", "in": "path", "required": True, "schema": {"type": "string"}},
            ],
            "post": _op(
                "Start a bulk action over rows of the view's own queryset. The query string "
                "is the view's filter (as on its page) for `all_matching`.",
                {"202": json_content(ref("Task"), "The new task."), **WRITE},
                operationId="runAction",
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": ref("ActionRequest")}},
                },
            ),
        },
        f"{prefix}operations/{{name}}/": {
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "post": _op(
                "Start an operation listed in BULKOPS['API_OPERATIONS'] with its params.",
                {"202": json_content(ref("Task"), "The new task."), **WRITE},
                operationId="runOperation",
                requestBody={
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"params": {"type": "object"}},
                            }
                        }
                    },
                },
            ),
        },
        f"{prefix}imports/{{model}}/": {
            "parameters": [
                {"name": "model", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "post": _op(
                "Upload a spreadsheet: it is read once under the upload limits and stored, "
                "and its dry run starts (nothing saved).",
                {
                    "200": json_content(ref("ImportPreview"), "The dry run."),
                    "413": error("The file is too large."),
                    **WRITE,
                },
                operationId="uploadImport",
                requestBody={
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                    "mode": {"type": "string"},
                                    "key_field": {"type": "string"},
                                    "dates": {"type": "string"},
                                    "decimal_separator": {"type": "string"},
                                    "atomic": {"type": "boolean"},
                                    "sheet": {
                                        "type": "string",
                                        "description": "Empty: the first sheet with data.",
                                    },
                                    "encoding": {
                                        "type": "string",
                                        "description": "Of a CSV file; empty: detected.",
                                    },
                                },
                                "required": ["file"],
                            }
                        }
                    },
                },
            ),
        },
        f"{prefix}imports/{{model}}/preview/": {
            "parameters": [
                {"name": "model", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "post": _op(
                "The dry run again, with other options, another column mapping or another "
                "sheet; confirm with the upload token of the latest answer.",
                {"200": json_content(ref("ImportPreview"), "The dry run."), **WRITE},
                operationId="previewImport",
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": ref("ImportOptions")}},
                },
            ),
        },
        f"{prefix}imports/{{model}}/confirm/": {
            "parameters": [
                {"name": "model", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "post": _op(
                "Start the import of a staged upload.",
                {"202": json_content(ref("Task"), "The import task."), **WRITE},
                operationId="confirmImport",
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": ref("ImportOptions")}},
                },
            ),
        },
    }


def document(prefix: str = "/bulkops/api/") -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "django-bulkops JSON API",
            "version": bulkops.__version__,
            "description": "Bulk tasks: progress, row errors, cancel, retry, files, imports "
            "and bulk actions. Reference: docs/reference/json-api.md.",
        },
        "paths": paths(prefix),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": django_settings.SESSION_COOKIE_NAME,
                    "description": "Django's session; unsafe methods also need the CSRF "
                    "token in the X-CSRFToken header.",
                }
            },
        },
        "security": [{"session": []}],
    }


def openapi_view(request: HttpRequest) -> JsonResponse:
    prefix = reverse("bulkops:api-task-list").removesuffix("tasks/")
    response = JsonResponse(document(prefix))
    return response
