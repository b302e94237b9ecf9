from __future__ import annotations

from django.urls import path

from bulkops.jsonapi import urls as api_urls
from bulkops.views import import_check, imports, notes, tasks

app_name = "bulkops"

urlpatterns = [
    path("tasks/", tasks.TaskListView.as_view(), name="task-list"),
    path("tasks/<uuid:pk>/", tasks.TaskDetailView.as_view(), name="task-detail"),
    path("tasks/<uuid:pk>/status/", tasks.task_status, name="task-status"),
    path("tasks/<uuid:pk>/cancel/", tasks.task_cancel, name="task-cancel"),
    path("tasks/<uuid:pk>/retry/", tasks.task_retry, name="task-retry"),
    path("tasks/<uuid:pk>/retry-failed/", tasks.task_retry_failed, name="task-retry-failed"),
    path("tasks/<uuid:pk>/download/", tasks.task_download, name="task-download"),
    path("tasks/<uuid:pk>/notes/", notes.note_list, name="task-notes"),
    path("tasks/<uuid:pk>/notes/add/", notes.note_add, name="task-note-add"),
    path("tasks/<uuid:pk>/notes/<int:note_id>/edit/", notes.note_edit, name="task-note-edit"),
    path("tasks/<uuid:pk>/notes/<int:note_id>/delete/", notes.note_delete, name="task-note-delete"),
    # Spreadsheet import, for models registered with bulkops.tabular.register_import.
    path("import/<str:model>/", imports.ImportView.as_view(), name="import"),
    *(
        path(
            f"import/<str:model>/{step}/",
            imports.ImportView.as_view(step=step),
            name=f"import-{step}",
        )
        for step in ("upload", "preview", "confirm")
    ),
    path("import/result/<uuid:pk>/", imports.ImportResultView.as_view(), name="import-result"),
    path("import/check/<uuid:pk>/", import_check.ImportCheckView.as_view(), name="import-check"),
    # The JSON API (docs/reference/json-api.md).
    *api_urls.urlpatterns,
]
