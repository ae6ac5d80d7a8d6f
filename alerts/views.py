"""The alerts pages: rules and channels, a channel with its rules, its delivery log, and the
actions on them (POST, CSRF-checked). Staff only, viewing included: a channel's page shows its
URL (a Slack webhook URL is itself a credential) and what receivers answered."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from executions.errors import ConflictError, NotFound
from executions.views import _page_number, _render

from . import selectors, services
from .forms import ChannelForm, RuleForm

LOG_PAGE_SIZE = 25


def staff_required(view):
    """Signed in (else the sign-in page), and staff (else 403)."""

    @login_required
    @wraps(view)
    def checked(request: HttpRequest, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("the alerts pages are for staff")
        return view(request, *args, **kwargs)

    return checked


def _index(request: HttpRequest, *, form: ChannelForm, status: int = 200) -> HttpResponse:
    channels = selectors.channels_list()
    context = {"rules": selectors.rules_list(), "channels": channels, "form": form,
               "disabled": [c for c in channels if not c.enabled]}
    return render(request, "alerts/index.html", context, status=status)


def _channel_or_404(channel_id: int):
    channel = selectors.channel_detail(channel_id=channel_id)
    if channel is None:
        raise Http404("no such alert channel")
    return channel


def _channel_page(request: HttpRequest, channel, *, form: RuleForm, status: int = 200,
                  refused: str = "") -> HttpResponse:
    context = {"channel": channel, "rules": selectors.rules_list(channel_id=channel.pk), "form": form,
               "secret_fingerprint": services.secret_fingerprint(channel.secret), "refused": refused}
    return render(request, "alerts/channel.html", context, status=status)


def _secret_page(request: HttpRequest, channel, secret: str, *, created: bool) -> HttpResponse:
    # The one answer that holds the secret: never kept by a cache, never stored server-side.
    response = render(request, "alerts/secret.html", {"channel": channel, "secret": secret, "created": created},
                      status=201 if created else 200)
    response["Cache-Control"] = "no-store"
    return response


@staff_required
@require_GET
def alerts_index(request: HttpRequest) -> HttpResponse:
    return _index(request, form=ChannelForm())


@staff_required
@require_POST
def channel_create(request: HttpRequest) -> HttpResponse:
    form = ChannelForm(request.POST)
    created = form.create() if form.is_valid() else None
    if created is None:
        return _index(request, form=form, status=400)
    channel, secret = created
    return _secret_page(request, channel, secret, created=True)


@staff_required
@require_GET
def channel_detail(request: HttpRequest, channel_id: int) -> HttpResponse:
    return _channel_page(request, _channel_or_404(channel_id), form=RuleForm())


@staff_required
@require_POST
def rule_create(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel_or_404(channel_id)
    form = RuleForm(request.POST)
    if form.is_valid() and form.create(channel_id=channel.pk) is not None:
        return redirect("alerts:channel", channel_id=channel.pk)
    return _channel_page(request, channel, form=form, status=400)


@staff_required
@require_POST
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    try:
        channel_id = services.rule_delete(rule_id=rule_id)
    except NotFound:
        raise Http404("no such alert rule") from None
    return redirect("alerts:channel", channel_id=channel_id)


@staff_required
@require_POST
def channel_enable(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel_or_404(channel_id)
    services.channel_enable(channel_id=channel.pk)
    return redirect("alerts:channel", channel_id=channel.pk)


@staff_required
@require_POST
def channel_rotate(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel_or_404(channel_id)
    # The fingerprint of the secret the page showed as current: rotating someone else's brand-new
    # secret away, unseen, would break the receiver they are just setting up.
    expected = request.POST.get("current", "")
    if not expected:
        return _channel_page(request, channel, form=RuleForm(), status=400,
                             refused="current: missing; rotate from the channel's page")
    try:
        secret = services.channel_secret_rotate(name=channel.name, expected=expected)
    except ConflictError as error:
        return _channel_page(request, _channel_or_404(channel_id), form=RuleForm(), status=409,
                             refused=f"Not rotated: {error.detail}.")
    return _secret_page(request, channel, secret, created=False)


@staff_required
@require_http_methods(["GET", "POST"])
def channel_delete(request: HttpRequest, channel_id: int) -> HttpResponse:
    """GET: what deleting the channel removes, and the button; POST: delete it."""
    channel = _channel_or_404(channel_id)
    if request.method == "POST":
        services.channel_delete(channel_id=channel.pk)
        return redirect("alerts:index")
    return render(request, "alerts/delete.html", {"channel": channel,
                                                  "rules": selectors.rules_list(channel_id=channel.pk)})


@staff_required
@require_POST
def channel_test(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Sends a test now (the request waits for it, at most ALERT_SEND_TIMEOUT_SECONDS), then shows
    the log with it on top."""
    channel = _channel_or_404(channel_id)
    services.channel_test_send(channel_id=channel.pk)
    return redirect("alerts:log", channel_id=channel.pk)


@staff_required
@require_GET
def channel_log(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel_or_404(channel_id)
    data = selectors.channel_deliveries(channel_id=channel.pk, page=_page_number(request), per_page=LOG_PAGE_SIZE)
    return _render(request, "alerts/log.html", "log", {"channel": channel, **data})
