from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from executions import views
from executions.api import api
from mimir_dashboard import accounts

# What django.contrib.auth.urls routes, with the product's pages; the password-reset ones answer
# 404 unless email is configured (accounts.offered_with_email).
account_urls = [
    path("login/", accounts.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", accounts.password_change, name="password_change"),
    path("password_change/done/", accounts.password_change_done, name="password_change_done"),
    path("password_reset/", accounts.password_reset, name="password_reset"),
    path("password_reset/done/", accounts.password_reset_done, name="password_reset_done"),
    path("reset/<uidb64>/<token>/", accounts.password_reset_confirm, name="password_reset_confirm"),
    path("reset/done/", accounts.password_reset_complete, name="password_reset_complete"),
]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics_view, name="metrics"),
    path("api/v1/docs", views.api_docs, name="api_docs"),
    path("api/v1/", api.urls),
    path("accounts/", include(account_urls)),
    path("admin/", admin.site.urls),
    path("alerts/", include("alerts.urls")),
    path("", include("executions.urls")),
]

handler404 = "executions.views.not_found"
