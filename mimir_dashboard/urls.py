from django.contrib import admin
from django.urls import include, path

from executions import views
from executions.api import api

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/docs", views.api_docs, name="api_docs"),
    path("api/v1/", api.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("", include("executions.urls")),
]

handler404 = "executions.views.not_found"
