from __future__ import annotations

from django.urls import path

from devices import views

app_name = "devices"

urlpatterns = [
    path("", views.device_list, name="list"),
    path("sync/<str:job>/", views.start_sync, name="sync"),
    path("punches/", views.punches, name="punches"),
]
