from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from example import views

urlpatterns = [
    path("", views.home, name="home"),
    path("demo-job/", views.start_demo_job, name="demo-job"),
    path("api-demo/", views.api_demo, name="api-demo"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("logout/", auth_views.LogoutView.as_view(next_page="/"), name="logout"),
    path("admin/", admin.site.urls),
    path("bulkops/", include("bulkops.urls")),
    path("customers/", include("customers.urls")),
    path("devices/", include("devices.urls")),
]
