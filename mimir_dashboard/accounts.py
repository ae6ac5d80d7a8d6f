"""Signing in: throttling of wrong passwords (django-axes, configured in settings.py)."""

from __future__ import annotations

import ipaddress
import math
from datetime import datetime

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def client_ip(request: HttpRequest) -> str | None:
    """The address that sign-in failures are counted against.

    The connection's own address, unless TRUSTED_PROXY_COUNT reverse proxies stand in front: each
    of them appends to X-Forwarded-For the address it was connected from, so the client is that
    many entries from the right. Entries further left are whatever the client sent, and a header
    without enough entries (or with a malformed one there) did not come through the proxies.
    """
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(hops) >= count:
            try:
                return str(ipaddress.ip_address(hops[-count]))
            except ValueError:
                pass
    return remote


class SignInAttempts(AxesDatabaseHandler):
    """axes' database handler (shared by every worker process), except what a successful sign-in
    clears. axes would delete every failure matching either lockout parameter, so a user signing
    in would also clear the failures made from the same address against other usernames: whoever
    has one account could then guess another's password without end, signing in to their own
    between guesses. Here a sign-in clears the failures of that username from that address only,
    the user's own typos."""

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(username=username, ip_address=request.axes_ip_address).delete()
        return count


def _paused_until(request: HttpRequest, credentials: dict | None) -> datetime:
    """When the pause ends: the cool-off after the last failure of each parameter (username,
    address) that reached the limit. Failures while paused are not counted (settings.py), so
    this does not move."""
    limit = get_failure_limit(request, credentials)
    last = None
    for attempts in AxesProxyHandler.get_implementation().get_user_attempts(request, credentials):
        found = attempts.aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
        if (found["failures"] or 0) >= limit and found["last"] is not None:
            last = found["last"] if last is None else max(last, found["last"])
    return (last or timezone.now()) + get_cool_off(request)


def lockout_response(request: HttpRequest, original_response: HttpResponse | None,
                     credentials: dict | None) -> HttpResponse:
    """429 Too Many Requests (a pause, with Retry-After), as a product page: 403 would say that
    the request is forbidden, whereas trying again later is exactly what the user should do."""
    until = _paused_until(request, credentials)
    seconds = max(1, math.ceil((until - timezone.now()).total_seconds()))
    context = {"until": until, "minutes": math.ceil(seconds / 60), "failure_limit": get_failure_limit(request, credentials)}
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response
