from django.urls import path

from . import views

app_name = "executions"

urlpatterns: list = [
    path("", views.execution_list, name="list"),
    # Before executions/<id>, which would take "compare" for an execution id.
    path("executions/compare", views.execution_compare, name="compare"),
    path("executions/<str:execution_id>", views.execution_detail, name="detail"),
    path("executions/<str:execution_id>/poll", views.execution_poll, name="poll"),
    path("executions/<str:execution_id>/tasks/<str:task_id>", views.task_detail, name="task"),
    path("executions/<str:execution_id>/tasks/<str:task_id>/attempts/<int:attempt_number>/<str:field>.txt",
         views.attempt_text, name="attempt_text"),
    path("plans", views.plan_list, name="plans"),
    path("plans/<str:plan_id>", views.plan_detail, name="plan"),
    path("plans/<str:plan_id>/tasks/<str:task_id>", views.plan_task_history, name="plan_task"),
    path("reports/failures", views.failure_report, name="failure_report"),
    path("reports/failures.csv", views.failure_report_csv, name="failure_report_csv"),
]
