from __future__ import annotations

from django.urls import path

from tests.testapp import views

urlpatterns = [
    path("customers/", views.CustomerList.as_view(), name="customers"),
    path("customers/filtered/", views.CustomerFilterList.as_view(), name="customers-filtered"),
    path("customers/pt/", views.PortugueseCustomerList.as_view(), name="customers-pt"),
    path("customers/open/", views.OpenCustomerList.as_view(), name="customers-open"),
    path("customers/city/<str:city>/", views.CityCustomerList.as_view(), name="customers-city"),
    path("customers/objects/", views.PerObjectCustomerList.as_view(), name="customers-objects"),
    path("sse/<uuid:pk>/", views.sse_progress, name="sse-progress"),
]
