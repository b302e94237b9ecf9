"""The JSON schemas of the API's bodies: components of the OpenAPI document."""

from __future__ import annotations

from typing import Any

NULLABLE_INT = {"type": ["integer", "null"]}
NULLABLE_STR = {"type": ["string", "null"]}
NULLABLE_URL = {"type": ["string", "null"], "format": "uri"}
TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
STATUSES = ["pending", "running", "succeeded", "failed", "cancelled"]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error(description: str) -> dict[str, Any]:
    return json_content(ref("Error"), description)


def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


SCHEMAS: dict[str, Any] = {
    # A text's message id and parameters (bulkops.texts); null for texts stored without.
    "MessageData": {
        "type": ["object", "null"],
        "properties": {
            "id": {"type": "string"},
            "plural": {"type": "string"},
            "count": {"type": "integer"},
            "params": {"type": "object"},
        },
    },
    "Error": {
        **obj(
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
    "TaskLinks": obj(
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
    "Task": obj(
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
            "stage_data": ref("MessageData"),
            "message": {"type": "string"},
            "message_data": ref("MessageData"),
            "rate": {"type": ["number", "null"]},
            "eta_seconds": {"type": ["number", "null"]},
            "elapsed_seconds": {"type": ["number", "null"]},
            "created_at": TIMESTAMP,
            "started_at": TIMESTAMP,
            "finished_at": TIMESTAMP,
            "result": {"type": "object"},
            "links": ref("TaskLinks"),
        }
    ),
    "RowError": obj(
        {
            "row": NULLABLE_INT,
            "ref": {"type": "string"},
            "field": {"type": "string"},
            "message": {"type": "string"},
            "message_data": ref("MessageData"),
            "values": {"type": "object"},
        }
    ),
    "ImportPreview": obj(
        {
            "upload": {"type": "string"},
            "filename": {"type": "string"},
            "sheet": NULLABLE_STR,
            "sheets": {"type": "array", "items": {"type": "string"}},
            "row_count": NULLABLE_INT,
            "columns": {
                "type": "array",
                "items": obj(
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
                "description": "The dry run's first failing rows, once it has finished.",
                "items": obj(
                    {
                        "row": {"type": "integer"},
                        "column": NULLABLE_STR,
                        "message": {"type": "string"},
                    }
                ),
            },
            "problem": {"type": "string"},
            "can_import": {"type": "boolean"},
            "check": {
                "description": "The dry run of the whole file (a task), once the columns bind.",
                "oneOf": [ref("Task"), {"type": "null"}],
            },
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
    "ExposedView": obj(
        {
            "name": {"type": "string"},
            "model": {"type": "string"},
            "verbose_name": {"type": "string"},
            "verbose_name_plural": {"type": "string"},
            "actions": {
                "type": "array",
                "items": obj(
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


def page(item: str) -> dict[str, Any]:
    return obj(
        {
            "count": {"type": "integer"},
            "page": {"type": "integer"},
            "pages": {"type": "integer"},
            "next": NULLABLE_URL,
            "previous": NULLABLE_URL,
            "results": {"type": "array", "items": ref(item)},
        }
    )
