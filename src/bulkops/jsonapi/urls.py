"""The API's URL patterns, included by ``bulkops.urls`` under ``api/``."""

from __future__ import annotations

from django.urls import path, re_path

from bulkops.jsonapi import actions, imports, openapi, stream, tasks

urlpatterns = [
    path("api/openapi.json", openapi.openapi_view, name="api-openapi"),
    path("api/tasks/", tasks.task_list, name="api-task-list"),
    path("api/tasks/<uuid:pk>/", tasks.task_detail, name="api-task"),
    path("api/tasks/<uuid:pk>/errors/", tasks.task_errors, name="api-task-errors"),
    path("api/tasks/<uuid:pk>/errors.csv", tasks.task_error_report, name="api-task-error-report"),
    path("api/tasks/<uuid:pk>/events/", stream.task_events, name="api-task-events"),
    path("api/tasks/<uuid:pk>/cancel/", tasks.task_cancel, name="api-task-cancel"),
    path("api/tasks/<uuid:pk>/retry/", tasks.task_retry, name="api-task-retry"),
    path(
        "api/tasks/<uuid:pk>/retry-failed/", tasks.task_retry_failed, name="api-task-retry-failed"
    ),
    path("api/tasks/<uuid:pk>/download/", tasks.task_download, name="api-task-download"),
    path("api/actions/", actions.action_list, name="api-action-list"),
    path("api/actions/<str:view>/<str:action>/", actions.action_run, name="api-action-run"),
    path("api/operations/<str:name>/", actions.operation_run, name="api-operation-run"),
    path("api/imports/<str:model>/", imports.import_upload, name="api-import-upload"),
    path("api/imports/<str:model>/preview/", imports.import_preview, name="api-import-preview"),
    path("api/imports/<str:model>/confirm/", imports.import_confirm, name="api-import-confirm"),
    # Anything else under api/ (a malformed id too) is a JSON 404, never an HTML page.
    re_path(r"^api/", tasks.not_found),
]
