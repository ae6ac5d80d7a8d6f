from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import render, resolve_url
from django_htmx.http import HttpResponseClientRedirect

from .errors import DatabaseUnavailable


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


class HtmxLoginRedirectMiddleware:
    """When a session expires while a page polls, htmx would swap the sign-in page into a fragment.
    Send the whole page to sign in instead, coming back to where the user was."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Cheap tests first: resolving LOGIN_URL is a URL reverse, wasted on the ingest API's requests.
        if response.status_code != 302 or not getattr(request, "htmx", False):
            return response
        login_url = resolve_url(settings.LOGIN_URL)
        if response["Location"].startswith(login_url):
            current = request.htmx.current_url_abs_path or "/"
            return HttpResponseClientRedirect(f"{login_url}?{urlencode({'next': current})}")
        return response
