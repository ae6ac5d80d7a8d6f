from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from . import selectors


def healthz(request: HttpRequest) -> JsonResponse:
    # Public on purpose (load balancers); it says nothing but up or down.
    neo4j_up = selectors.database_is_up()
    return JsonResponse({"app": "ok", "neo4j": "ok" if neo4j_up else "unavailable"}, status=200 if neo4j_up else 503)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", status=404)
