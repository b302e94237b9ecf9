from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import include, path, re_path
from django.views.i18n import JavaScriptCatalog

from example import views

urlpatterns = [
    path("", views.home, name="home"),
    path("demo-job/", views.start_demo_job, name="demo-job"),
    path("api-demo/", views.api_demo, name="api-demo"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    # The language switch at the foot of every page posts here (Django's set_language).
    path("i18n/", include("django.conf.urls.i18n")),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="example/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="/"), name="logout"),
    path("admin/", admin.site.urls),
    path("bulkops/", include("bulkops.urls")),
    path("customers/", include("customers.urls")),
    path("devices/", include("devices.urls")),
    # Static files with DEBUG off. The example runs on `runserver` on one machine, with no
    # collectstatic step and no extra dependency, so it serves them deliberately with
    # staticfiles' own view (``insecure``: straight from the apps' static/ folders).
    # A real deployment serves them otherwise: see docs/deployment.md.
    re_path(r"^static/(?P<path>.*)$", serve_static, {"insecure": True}),
]
