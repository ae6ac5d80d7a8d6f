"""Signing in: throttling of wrong passwords (django-axes, configured in settings.py), and the
account pages (sign-in, password change, password reset by email when email is configured)."""

from __future__ import annotations

import functools
import ipaddress
import logging
import math
import smtplib
from datetime import datetime

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.core.mail import EmailMultiAlternatives
from django.db.models import Max, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.urls import reverse_lazy
from django.utils import timezone

logger = logging.getLogger(__name__)


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
    context = {
        "until": until, "minutes": math.ceil(seconds / 60), "failure_limit": get_failure_limit(request, credentials)
    }
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


# ---------------------------------------------------------------- account pages


def email_configured() -> bool:
    return bool(settings.EMAIL_HOST)


class SignInView(auth_views.LoginView):
    """Django's sign-in, telling its template whether a password can be reset by email."""

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "password_reset": email_configured()}


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's form, except that an email the mail server does not take is one log line (Django
    logs a traceback): the user sees the same page as always, which never says whether the
    address has an account."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email,
                  html_email_template_name=None):
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        try:
            EmailMultiAlternatives(subject, body, from_email, [to_email]).send()
        except (smtplib.SMTPException, OSError) as error:  # refused, unreachable, timed out
            logger.error("password reset email for user id %s not sent via %s:%s: %s: %s", context["user"].pk,
                         settings.EMAIL_HOST, settings.EMAIL_PORT, type(error).__name__, error)


def offered_with_email(view):
    """The password-reset pages exist only while email is configured: otherwise 404, the product's."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not email_configured():
            raise Http404("password reset needs email (EMAIL_HOST)")
        return view(request, *args, **kwargs)

    return wrapper


password_reset = offered_with_email(auth_views.PasswordResetView.as_view(
    form_class=PasswordResetForm,
    email_template_name="registration/password_reset_email.txt",
    subject_template_name="registration/password_reset_subject.txt",
    extra_email_context={"valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600},
))
password_reset_done = offered_with_email(auth_views.PasswordResetDoneView.as_view())
password_reset_confirm = offered_with_email(auth_views.PasswordResetConfirmView.as_view())
password_reset_complete = offered_with_email(auth_views.PasswordResetCompleteView.as_view())
# Own template names: the admin's password change uses Django's registration/password_change_*.html
# and keeps the admin's look.
password_change = auth_views.PasswordChangeView.as_view(template_name="registration/change_password.html",
                                                        success_url=reverse_lazy("password_change_done"))
password_change_done = auth_views.PasswordChangeDoneView.as_view(template_name="registration/change_password_done.html")
