import functools
import logging
import time
from urllib.parse import urlencode

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import render, resolve_url
from django_htmx.http import HttpResponseClientRedirect

from . import metrics
from .errors import DatabaseUnavailable
from .inflight import UNCOUNTED_BYTES, BudgetExhausted, ingest_budget

logger = logging.getLogger(__name__)


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


_API_PREFIX = "/api/"
_API_ERRORS = {
    400: ("invalid", "the request is not valid"),
    403: ("forbidden", "this request is not allowed"),
    404: ("not_found", "no such API endpoint; see /api/v1/openapi.json"),
    405: ("method_not_allowed", "this endpoint does not take that method"),
    411: ("length_required", "send the body with a Content-Length (chunked request bodies are not read)"),
    413: ("too_large", "the request body is too large"),
    500: ("internal", "an unexpected error; retry later (every call is idempotent)"),
}


def _api_error(status: int) -> JsonResponse:
    error, detail = _API_ERRORS.get(status, ("error", "the request failed"))
    return JsonResponse({"error": error, "detail": detail, "errors": []}, status=status)


class ApiJsonErrorsMiddleware:
    """Under /api/ every answer is JSON: Django's and django-ninja's own error pages (an unknown
    route, a wrong method, an error outside a handler) are answered in the API's error shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(_API_PREFIX):
            return self.get_response(request)
        # WSGI servers pass a chunked body without a length, and Django reads a body of the length
        # it is given: it would be read as empty and refused for the wrong reason.
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return _api_error(411)
        response = self.get_response(request)
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith("application/json"):
            json_response = _api_error(response.status_code)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    json_response[header] = response[header]
            return json_response
        return response

    def process_exception(self, request, exception):
        if request.path.startswith(_API_PREFIX):
            logger.exception("unexpected error on %s %s", request.method, request.path)
            return _api_error(500)
        return None


class IngestBodyBudgetMiddleware:
    """A request under /api/ with a body larger than inflight.UNCOUNTED_BYTES reserves its length
    from the process's byte budget (executions.inflight, INGEST_IN_FLIGHT_MAX_BYTES) before the body
    is read, and holds it until its answer is ready: however many large bodies arrive at once, at
    most that many bytes of them are parsed here and written to Neo4j at a time. One that waits
    longer than INGEST_IN_FLIGHT_WAIT_SECONDS is answered 503 with Retry-After (every call is
    idempotent). Smaller bodies and reads never wait."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(_API_PREFIX):
            return self.get_response(request)
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0  # Django refuses a malformed length itself
        if size <= UNCOUNTED_BYTES:
            return self.get_response(request)
        try:
            with ingest_budget().reserve(size, timeout=settings.INGEST_IN_FLIGHT_WAIT_SECONDS):
                return self.get_response(request)
        except BudgetExhausted as exc:
            logger.warning("request body of %d bytes waited too long for the in-flight budget: %s", size, exc)
            metrics.record_unavailable(reason="body_budget")
            response = JsonResponse({"error": "busy", "detail": "the server is taking in too much data at once; "
                                     "retry later", "errors": []}, status=503)
            response["Retry-After"] = "1"
            return response


class ApiMetricsMiddleware:
    """Counts every answer under /api/ by route name and status, and its latency in Django
    (executions.metrics): first in MIDDLEWARE, so that the answers of the other middleware (411,
    the in-flight budget's 503) and the wait for that budget are in it too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(_API_PREFIX):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        from .api import endpoint_name  # the API module needs the app registry: not at import

        metrics.record_ingest_request(endpoint=endpoint_name(request), status=response.status_code,
                                      seconds=time.perf_counter() - started)
        return response


# What a view or decorator sets on a response to change or drop its policy (django-csp's attributes).
_CSP_RESPONSE_OVERRIDES = tuple(f"_csp_{what}{ro}" for what in ("config", "update", "replace", "exempt")
                                for ro in ("", "_ro"))


@functools.cache
def _csp_headers() -> tuple[tuple[str, str], ...] | None:
    """The policy headers built from the settings alone: the same for every response that neither
    used a nonce nor changed its policy. None when the settings exclude URL prefixes (django-csp
    then decides per path)."""
    policies = [getattr(settings, key, None) or {}
                for key in ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY")]
    if any(policy.get("EXCLUDE_URL_PREFIXES") for policy in policies):
        return None
    headers = ((HEADER, build_policy()), (HEADER_REPORT_ONLY, build_policy(report_only=True)))
    return tuple((name, value) for name, value in headers if value)


@receiver(setting_changed)
def _csp_settings_changed(*, setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _csp_headers.cache_clear()


class CachedPolicyCSPMiddleware(CSPMiddleware):
    """django-csp's middleware builds the policy string from the settings for every response, a
    tenth of an ingest request's CPU: here it is built once, for the responses whose policy is the
    settings' own (no nonce, no per-view policy, no excluded prefix, not Django's debug pages),
    and django-csp builds every other one as before."""

    def process_response(self, request, response):
        headers = _csp_headers()
        if (headers is None or settings.DEBUG or getattr(request, "_csp_nonce", None) is not None
                or any(hasattr(response, name) for name in _CSP_RESPONSE_OVERRIDES)):
            return super().process_response(request, response)
        for name, value in headers:
            if name not in response:
                response[name] = value
        # As django-csp does: a nonce asked for after the header was written is an error, not a
        # nonce silently missing from the policy.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
