from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    path("", views.alerts_index, name="index"),
    path("channels", views.channel_create, name="channel_create"),
    path("channels/<int:channel_id>", views.channel_detail, name="channel"),
    path("channels/<int:channel_id>/rules", views.rule_create, name="rule_create"),
    path("channels/<int:channel_id>/enable", views.channel_enable, name="channel_enable"),
    path("channels/<int:channel_id>/rotate", views.channel_rotate, name="channel_rotate"),
    path("channels/<int:channel_id>/test", views.channel_test, name="channel_test"),
    path("channels/<int:channel_id>/delete", views.channel_delete, name="channel_delete"),
    path("channels/<int:channel_id>/deliveries", views.channel_log, name="log"),
    path("rules/<int:rule_id>/delete", views.rule_delete, name="rule_delete"),
]
