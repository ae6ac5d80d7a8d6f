from django.shortcuts import render

from .services import DatabaseUnavailable


class DatabaseUnavailableMiddleware:
    """Pages answer a friendly 503 page when Neo4j cannot be reached (the API has its own JSON 503)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DatabaseUnavailable):
            response = render(request, "unavailable.html", status=503)
            response["Retry-After"] = "5"
            return response
        return None
