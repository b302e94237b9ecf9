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

NULLABLE_INT = {"type": ["integer", "null"]}
NULLABLE_STR = {"type": ["string", "null"]}
NULLABLE_URL = {"type": ["string", "null"], "format": "uri"}
TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
STATUSES = ["pending", "running", "succeeded", "failed", "cancelled"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


SCHEMAS: dict[str, Any] = {
    "Error": {
        **_obj(
            {
                "code": {"type": "string"},
                "detail": {"type": "string"},
                "errors": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            ["code", "detail"],
        ),
        "additionalProperties": False,
    },
    "TaskLinks": _obj(
        {
            "self": {"type": "string", "format": "uri"},
            "page": {"type": "string", "format": "uri"},
            "events": {"type": "string", "format": "uri"},
            "errors": {"type": "string", "format": "uri"},
            "error_report": NULLABLE_URL,
            "download": NULLABLE_URL,
            "cancel": NULLABLE_URL,
            "retry": NULLABLE_URL,
            "retry_failed": NULLABLE_URL,
        }
    ),
    "Task": _obj(
        {
            "id": {"type": "string", "format": "uuid"},
            "operation": {"type": "string"},
            "label": {"type": "string"},
            "model": {"type": "string"},
            "status": {"type": "string", "enum": STATUSES},
            "status_display": {"type": "string"},
            "outcome": {
                "type": "string",
                "enum": ["", "succeeded", "partial", "failed", "cancelled"],
                "description": "Blank until the task finishes.",
            },
            "outcome_display": {"type": "string"},
            "is_finished": {"type": "boolean"},
            "cancel_requested": {"type": "boolean"},
            "total": NULLABLE_INT,
            "processed": {"type": "integer", "minimum": 0},
            "succeeded": {"type": "integer", "minimum": 0},
            "failed": {"type": "integer", "minimum": 0},
            "skipped": {"type": "integer", "minimum": 0},
            "percent": {"type": "integer", "minimum": 0, "maximum": 100},
            "stage": {"type": "string"},
            "message": {"type": "string"},
            "rate": {"type": ["number", "null"]},
            "eta_seconds": {"type": ["number", "null"]},
            "elapsed_seconds": {"type": ["number", "null"]},
            "created_at": TIMESTAMP,
            "started_at": TIMESTAMP,
            "finished_at": TIMESTAMP,
            "result": {"type": "object"},
            "links": _ref("TaskLinks"),
        }
    ),
    "RowError": _obj(
        {
            "row": NULLABLE_INT,
            "ref": {"type": "string"},
            "field": {"type": "string"},
            "message": {"type": "string"},
            "values": {"type": "object"},
        }
    ),
    "ImportPreview": _obj(
        {
            "upload": {"type": "string"},
            "filename": {"type": "string"},
            "sheet": NULLABLE_STR,
            "sheets": {"type": "array", "items": {"type": "string"}},
            "row_count": NULLABLE_INT,
            "columns": {
                "type": "array",
                "items": _obj(
                    {
                        "position": {"type": "integer"},
                        "header": {"type": "string"},
                        "field": {"type": "string"},
                    }
                ),
            },
            "fields": {"type": "array", "items": {"type": "string"}},
            "errors": {
                "type": "array",
                "items": _obj(
                    {
                        "row": {"type": "integer"},
                        "column": NULLABLE_STR,
                        "message": {"type": "string"},
                    }
                ),
            },
            "failed_rows": {"type": "integer"},
            "checked_rows": {"type": "integer"},
            "complete": {"type": "boolean"},
            "problem": {"type": "string"},
            "can_import": {"type": "boolean"},
        }
    ),
    "ImportOptions": {
        "type": "object",
        "properties": {
            "upload": {"type": "string", "description": "The token from the upload step."},
            "mode": {"type": "string", "enum": ["upsert", "create", "update"]},
            "key_field": {"type": "string"},
            "dates": {"type": "string", "enum": ["dmy", "mdy"]},
            "decimal_separator": {"type": "string", "enum": ["", ",", "."]},
            "sheet": {"type": "string"},
            "atomic": {"type": "boolean"},
            "mapping": {
                "type": ["object", "null"],
                "description": 'Column position -> field name, like {"0": "name"}.',
                "additionalProperties": {"type": ["string", "null"]},
            },
        },
        "required": ["upload"],
    },
    "ActionRequest": {
        "type": "object",
        "properties": {
            "ids": {"type": "array", "items": {"type": ["string", "integer"]}},
            "all_matching": {"type": "boolean"},
            "exclude": {"type": "array", "items": {"type": ["string", "integer"]}},
            "values": {"type": "object", "description": "update only: field -> new value"},
        },
    },
    "ExposedView": _obj(
        {
            "name": {"type": "string"},
            "model": {"type": "string"},
            "verbose_name": {"type": "string"},
            "verbose_name_plural": {"type": "string"},
            "actions": {
                "type": "array",
                "items": _obj(
                    {
                        "name": {"type": "string"},
                        "label": {"type": "string"},
                        "url": {"type": "string", "format": "uri"},
                        "fields": {"type": "array", "items": {"type": "string"}},
                    },
                    ["name", "label", "url"],
                ),
            },
        }
    ),
}


# One event of the stream: ``data`` is a Task as JSON (or the progress partial's HTML
# with ``?format=html``); ``id`` is "<processed>-<status>".
SSE_EVENT = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["progress", "finished"]},
        "data": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer"},
    },
    "required": ["event", "data"],
}


def _page(item: str) -> dict[str, Any]:
    return _obj(
        {
            "count": {"type": "integer"},
            "page": {"type": "integer"},
            "pages": {"type": "integer"},
            "next": NULLABLE_URL,
            "previous": NULLABLE_URL,
            "results": {"type": "array", "items": _ref(item)},
        }
    )


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
    "401": _error("Not authenticated."),
    "405": _error("Method not allowed."),
}
READ = {**COMMON, "404": _error("No such task, or not yours.")}
WRITE = {
    **READ,
    "400": _error("Invalid fields; `errors` names each one."),
    "403": _error("CSRF check failed (session), or not permitted."),
    "409": _error("The task is not in a state that allows this."),
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
                    "200": _json(_page("Task"), "A page of tasks."),
                    "400": _error("An unknown filter value."),
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
                {"200": _json(_ref("Task"), "The task."), **READ},
                operationId="getTask",
            ),
        },
        f"{task}errors/": {
            "parameters": [TASK_ID],
            "get": _op(
                "The task's row errors, by row.",
                {
                    "200": _json(_page("RowError"), "A page of row errors."),
                    "400": _error("A bad page number."),
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
                {"200": _json(_ref("Task"), "The task, cancelled or stopping."), **WRITE},
                operationId="cancelTask",
            ),
        },
        f"{task}retry/": {
            "parameters": [TASK_ID],
            "post": _op(
                "Run a failed, cancelled or stalled task again from its checkpoint.",
                {"202": _json(_ref("Task"), "The task, queued again."), **WRITE},
                operationId="retryTask",
            ),
        },
        f"{task}retry-failed/": {
            "parameters": [TASK_ID],
            "post": _op(
                "A new task over only the rows that failed.",
                {"202": _json(_ref("Task"), "The new task."), **WRITE},
                operationId="retryFailedRows",
            ),
        },
        f"{prefix}actions/": {
            "get": _op(
                "The bulk actions the caller may run, per exposed list view.",
                {
                    "200": _json(
                        _obj({"results": {"type": "array", "items": _ref("ExposedView")}}),
                        "Exposed views.",
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
                {"202": _json(_ref("Task"), "The new task."), **WRITE},
                operationId="runAction",
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ActionRequest")}},
                },
            ),
        },
        f"{prefix}imports/{{model}}/": {
            "parameters": [
                {"name": "model", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "post": _op(
                "Upload a spreadsheet: it is staged and checked (a dry run), nothing saved.",
                {
                    "200": _json(_ref("ImportPreview"), "The dry run."),
                    "413": _error("The file is too large."),
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
                "The dry run again, with other options or another column mapping.",
                {"200": _json(_ref("ImportPreview"), "The dry run."), **WRITE},
                operationId="previewImport",
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ImportOptions")}},
                },
            ),
        },
        f"{prefix}imports/{{model}}/confirm/": {
            "parameters": [
                {"name": "model", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "post": _op(
                "Start the import of a staged upload.",
                {"202": _json(_ref("Task"), "The import task."), **WRITE},
                operationId="confirmImport",
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ImportOptions")}},
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
