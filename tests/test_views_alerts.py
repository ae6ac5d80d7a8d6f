"""The alerts pages over real HTTP through Django: access (staff only), CSRF, forms whose errors
name their field, the secret shown once, the disabled banner and re-enabling, the delivery log
(a hostile answer escaped, pages of it), and a fixed number of SQL queries per page. Sends go to a
real receiver on loopback; alerts come from the real worker reading the real Neo4j."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alerts import services
from alerts.models import AlertChannel, AlertRule, Delivery
from tests.support.alerts import work
from tests.support.pages import run
from tests.support.receiver import receiver


@pytest.fixture
def hook():
    with receiver() as r:
        yield r


@pytest.fixture
def staff(client, db):
    client.force_login(get_user_model().objects.create_user("grace", password="correct horse battery",
                                                            is_staff=True))
    return client


def channel(hook, name="ops", **kwargs) -> AlertChannel:
    created, _ = services.channel_create(name=name, kind="webhook", url=hook.url, **kwargs)
    return created


def text(response) -> str:
    return response.content.decode()


def field_block(html: str, field: str) -> str:
    """From a field's label to the next label (or the form's end): the field and its errors."""
    match = re.search(rf'<label for="id_{field}">.*?(?=<label |</form>)', html, re.S)
    assert match, f"no field {field} on the page"
    return match.group(0)


def pages(ch: AlertChannel, rule: AlertRule | None = None) -> list[tuple[str, str]]:
    """Every alerts URL, with its method."""
    urls = [("get", "/alerts/"), ("post", "/alerts/channels"), ("get", f"/alerts/channels/{ch.pk}"),
            ("post", f"/alerts/channels/{ch.pk}/rules"), ("post", f"/alerts/channels/{ch.pk}/enable"),
            ("post", f"/alerts/channels/{ch.pk}/rotate"), ("post", f"/alerts/channels/{ch.pk}/test"),
            ("get", f"/alerts/channels/{ch.pk}/deliveries"), ("get", f"/alerts/channels/{ch.pk}/delete"),
            ("post", f"/alerts/channels/{ch.pk}/delete")]
    if rule:
        urls.append(("post", f"/alerts/rules/{rule.pk}/delete"))
    return urls


# ---------------------------------------------------------------- access


def test_it_sends_anonymous_visitors_to_sign_in_and_changes_nothing(client, db, hook):
    ch = channel(hook)
    rule = services.rule_create(channel_id=ch.pk, spec=services.RuleSpec(kind="execution_failed"))
    secret = ch.secret
    for method, url in pages(ch, rule):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url
    ch.refresh_from_db()
    assert ch.secret == secret and AlertRule.objects.filter(pk=rule.pk).exists()
    assert not hook.requests


def test_it_refuses_signed_in_users_who_are_not_staff_and_hides_the_link(signed_in, hook):
    ch = channel(hook)
    rule = services.rule_create(channel_id=ch.pk, spec=services.RuleSpec(kind="execution_failed"))
    for method, url in pages(ch, rule):
        response = getattr(signed_in, method)(url)
        assert response.status_code == 403, url
        assert "This page is for staff" in text(response)
    assert AlertRule.objects.filter(pk=rule.pk).exists() and not hook.requests
    assert 'href="/alerts/"' not in text(signed_in.get("/plans"))


def test_it_links_the_alerts_page_from_the_navigation_for_staff(staff):
    html = text(staff.get("/plans"))
    assert re.search(r'<nav class="nav".*href="/alerts/".*</nav>', html, re.S)
    assert re.search(r'href="/alerts/" aria-current="page">Alerts', text(staff.get("/alerts/")))


def test_it_refuses_posts_without_a_csrf_token(db, hook):
    ch = channel(hook)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(get_user_model().objects.create_user("lin", password="x" * 20, is_staff=True))
    secret = ch.secret
    refused = [
        ("/alerts/channels", {"name": "new", "kind": "webhook", "url": hook.url}),
        (f"/alerts/channels/{ch.pk}/rules", {"kind": "execution_failed"}),
        (f"/alerts/channels/{ch.pk}/rotate", {}),
        (f"/alerts/channels/{ch.pk}/test", {}),
        (f"/alerts/channels/{ch.pk}/enable", {}),
        (f"/alerts/channels/{ch.pk}/delete", {}),
    ]
    for url, body in refused:
        assert browser.post(url, body).status_code == 403, url
    ch.refresh_from_db()
    assert ch.secret == secret
    assert list(AlertChannel.objects.values_list("name", flat=True)) == ["ops"]
    assert not AlertRule.objects.exclude(kind="channel_test").exists() and not hook.requests
    # The page's own form carries the token, and with it the same POST goes through.
    page = text(browser.get("/alerts/"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    created = browser.post("/alerts/channels", {"name": "new", "kind": "webhook", "url": hook.url,
                                                "csrfmiddlewaretoken": token})
    assert created.status_code == 201


def test_it_answers_only_the_methods_each_page_takes(staff, hook):
    ch = channel(hook)
    assert staff.get(f"/alerts/channels/{ch.pk}/test").status_code == 405
    assert staff.post(f"/alerts/channels/{ch.pk}").status_code == 405
    assert not hook.requests
    assert staff.get("/alerts/channels/999999").status_code == 404
    assert staff.post("/alerts/channels/999999/test").status_code == 404
    assert staff.post("/alerts/rules/999999/delete").status_code == 404


# ---------------------------------------------------------------- channels and their secret


def test_it_creates_a_channel_and_shows_its_secret_once(staff, hook):
    response = staff.post("/alerts/channels", {"name": "ops", "kind": "webhook", "url": hook.url})
    assert response.status_code == 201
    ch = AlertChannel.objects.get(name="ops")
    assert (ch.kind, ch.url, ch.enabled) == ("webhook", hook.url, True)
    assert re.search(rf'<pre class="mono secret" id="secret">{re.escape(ch.secret)}</pre>', text(response))
    assert "no-store" in response["Cache-Control"]
    # Never again: the channel's page and the list say only that a secret exists.
    later = [staff.get(f"/alerts/channels/{ch.pk}"), staff.get("/alerts/"), staff.get(f"/alerts/channels/{ch.pk}/deliveries")]
    for page in later:
        assert page.status_code == 200
        assert ch.secret not in text(page)
    assert "A secret is set" in text(later[0])


def shown_fingerprint(staff, ch: AlertChannel) -> str:
    """What the channel's page posts to rotate: the fingerprint of the secret in force as it was shown."""
    page = text(staff.get(f"/alerts/channels/{ch.pk}"))
    return re.search(r'name="current" value="([0-9a-f]+)"', page).group(1)


def test_it_rotates_the_secret_and_shows_the_new_one_once_while_the_old_one_still_signs(staff, hook):
    ch = channel(hook)
    old = ch.secret
    response = staff.post(f"/alerts/channels/{ch.pk}/rotate", {"current": shown_fingerprint(staff, ch)})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    ch.refresh_from_db()
    assert ch.secret != old and ch.previous_secret == old
    assert ch.secret in text(response) and old not in text(response)
    page = text(staff.get(f"/alerts/channels/{ch.pk}"))
    assert ch.secret not in page and old not in page
    assert "the previous one signs too until" in page


def test_it_creates_slack_and_email_channels(staff):
    assert staff.post("/alerts/channels", {"name": "team", "kind": "slack",
                                           "url": "https://hooks.slack.com/services/T/B/X"}).status_code == 201
    assert staff.post("/alerts/channels", {"name": "mail", "kind": "email",
                                           "email": "oncall@example.com"}).status_code == 201
    assert dict(AlertChannel.objects.values_list("name", "kind")) == {"team": "slack", "mail": "email"}
    assert "oncall@example.com" in text(staff.get(f"/alerts/channels/{AlertChannel.objects.get(name='mail').pk}"))


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"name": "", "kind": "webhook", "url": "https://x.example"}, "name", "This field is required."),
    ({"name": "x" * 101, "kind": "webhook", "url": "https://x.example"}, "name", "at most 100 characters"),
    ({"name": "ops", "kind": "webhook", "url": "https://x.example"}, "name", "a channel named &#x27;ops&#x27; exists already"),
    ({"name": "n", "kind": "webhook", "url": "ftp://x.example"}, "url", "not an http(s) URL"),
    ({"name": "n", "kind": "slack", "url": ""}, "url", "not an http(s) URL"),
    ({"name": "n", "kind": "email", "email": "not-an-address"}, "email", "not an email address"),
    ({"name": "n", "kind": "pager", "url": "https://x.example"}, "kind", "Select a valid choice"),
])
def test_it_refuses_a_bad_channel_with_the_field_named(staff, hook, body, field, message):
    channel(hook)
    response = staff.post("/alerts/channels", body)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert message in field_block(text(response), field)
    assert AlertChannel.objects.count() == 1


# ---------------------------------------------------------------- rules


def test_it_creates_and_deletes_rules_on_a_channel(staff, hook):
    ch = channel(hook)
    response = staff.post(f"/alerts/channels/{ch.pk}/rules", {"kind": "failure_rate_above", "plan_id": "etl",
                                                              "threshold": "0.5", "window_minutes": "60"})
    assert response.status_code == 302 and response["Location"] == f"/alerts/channels/{ch.pk}"
    assert staff.post(f"/alerts/channels/{ch.pk}/rules", {"kind": "execution_failed"}).status_code == 302
    rate = AlertRule.objects.get(kind="failure_rate_above")
    failed = AlertRule.objects.get(kind="execution_failed")
    assert (rate.channel_id, rate.plan_id, rate.threshold, rate.window_minutes) == (ch.pk, "etl", 0.5, 60)
    assert (failed.plan_id, failed.threshold, failed.window_minutes) == (None, None, None)
    listed = text(staff.get("/alerts/"))
    row = re.search(rf'<tr id="rule-{rate.pk}">.*?</tr>', listed, re.S).group(0)
    assert "failure_rate_above" in row and "etl" in row and "0.5" in row and "in 60 min" in row and "ops" in row
    assert "all plans" in re.search(rf'<tr id="rule-{failed.pk}">.*?</tr>', listed, re.S).group(0)

    response = staff.post(f"/alerts/rules/{rate.pk}/delete")
    assert response.status_code == 302 and response["Location"] == f"/alerts/channels/{ch.pk}"
    assert list(AlertRule.objects.values_list("kind", flat=True)) == ["execution_failed"]
    assert f'id="rule-{rate.pk}"' not in text(staff.get(f"/alerts/channels/{ch.pk}"))


def test_it_does_not_delete_the_hidden_test_rule(staff, hook):
    ch = channel(hook)
    services.channel_test_send(channel_id=ch.pk)
    hidden = AlertRule.objects.get(channel=ch, kind="channel_test")
    assert staff.post(f"/alerts/rules/{hidden.pk}/delete").status_code == 404
    assert AlertRule.objects.filter(pk=hidden.pk).exists()


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"kind": "qc_score_below"}, "threshold", "qc_score_below needs a threshold"),
    ({"kind": "qc_score_below", "threshold": "150"}, "threshold", "within 0-100"),
    ({"kind": "qc_score_below", "threshold": "lots"}, "threshold", "Enter a number."),
    ({"kind": "attempts_above", "threshold": "2.5"}, "threshold", "a whole number"),
    ({"kind": "execution_failed", "threshold": "3"}, "threshold", "execution_failed takes no threshold"),
    ({"kind": "failure_rate_above", "threshold": "0.5"}, "window_minutes", "needs a window of 1 to"),
    ({"kind": "failure_rate_above", "threshold": "0.5", "window_minutes": "0"}, "window_minutes", "needs a window"),
    ({"kind": "execution_stale", "window_minutes": "5"}, "window_minutes", "takes no window"),
    ({"kind": "execution_failed", "plan_id": "p" * 201}, "plan_id", "at most 200 characters"),
    ({"kind": "everything"}, "kind", "Select a valid choice"),
])
def test_it_refuses_a_bad_rule_with_the_field_named(staff, hook, body, field, message):
    ch = channel(hook)
    response = staff.post(f"/alerts/channels/{ch.pk}/rules", body)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert message in field_block(text(response), field)
    assert not AlertRule.objects.exists()


def test_it_lists_a_rules_last_firing_from_the_worker(staff, hook, ingest):
    ch = channel(hook)
    assert staff.post(f"/alerts/channels/{ch.pk}/rules", {"kind": "execution_failed"}).status_code == 302
    rule = AlertRule.objects.get(kind="execution_failed")
    before = re.search(rf'<tr id="rule-{rule.pk}">.*?</tr>', text(staff.get("/alerts/")), re.S).group(0)
    assert '<td class="num">0</td>' in before and "<time" not in before

    run(ingest, "exec-1", failed=(0,))
    work()
    assert len(hook.requests) == 1
    fired = rule.events.get().created_at
    after = re.search(rf'<tr id="rule-{rule.pk}">.*?</tr>', text(staff.get("/alerts/")), re.S).group(0)
    assert '<td class="num">1</td>' in after
    assert f'<time datetime="{fired.isoformat(timespec="seconds").replace("+00:00", "Z")}">' in after
    channels = re.search(rf'<tr id="channel-{ch.pk}">.*?</tr>', text(staff.get("/alerts/")), re.S).group(0)
    assert re.findall(r'<td class="num">(\d+)</td>', channels) == ["0", "1", "0"]  # queued, delivered, undelivered


# ---------------------------------------------------------------- send test, the log, the banner


def test_it_sends_a_test_and_shows_it_on_top_of_the_log(staff, hook):
    ch = channel(hook)
    hook.answer(202, body=b"accepted by the receiver")
    response = staff.post(f"/alerts/channels/{ch.pk}/test")
    assert response.status_code == 302 and response["Location"] == f"/alerts/channels/{ch.pk}/deliveries"
    assert len(hook.requests) == 1 and hook.requests[0].headers["X-Mimir-Signature"].startswith("v1=")
    log = text(staff.get(response["Location"]))
    assert "Showing 1–1 of 1 deliveries" in log
    delivery = Delivery.objects.get()
    entry = re.search(rf'<article class="delivery" id="delivery-{delivery.pk}">.*?</article>', log, re.S).group(0)
    assert "channel_test" in entry and "delivered" in entry and str(delivery.event.event_id) in entry
    assert '<td class="num">202</td>' in entry and "accepted by the receiver" in entry and " ms</td>" in entry


def test_it_escapes_a_hostile_answer_in_the_log(staff, hook):
    ch = channel(hook)
    hostile = b'<script>alert(1)</script><img src=x onerror="alert(2)"></pre><b>bold</b>'
    hook.answer(500, body=hostile)
    staff.post(f"/alerts/channels/{ch.pk}/test")
    log = text(staff.get(f"/alerts/channels/{ch.pk}/deliveries"))
    assert "<script>alert(1)" not in log and "<img src=x" not in log and "<b>bold" not in log
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in log
    assert '<td class="num">500</td>' in log and "failed" in log


def test_it_bounds_the_answer_shown(staff, hook):
    ch = channel(hook)
    hook.answer(200, body=b"y" * 50_000)
    staff.post(f"/alerts/channels/{ch.pk}/test")
    log = text(staff.get(f"/alerts/channels/{ch.pk}/deliveries"))
    longest = max(len(run_) for run_ in re.findall(r"y+", log))
    assert 100 <= longest <= 1_000


def test_it_pages_the_log_newest_first_saying_how_many_it_shows(staff, hook):
    ch = channel(hook)
    for _ in range(27):
        services.channel_test_send(channel_id=ch.pk)
    ids = list(Delivery.objects.order_by("-created_at", "-pk").values_list("pk", flat=True))
    first = text(staff.get(f"/alerts/channels/{ch.pk}/deliveries"))
    assert "Showing 1–25 of 27 deliveries" in first
    assert [int(i) for i in re.findall(r'id="delivery-(\d+)"', first)] == ids[:25]
    assert 'href="?page=2"' in first
    second = staff.get(f"/alerts/channels/{ch.pk}/deliveries?page=2", headers={"HX-Request": "true"})
    body = text(second)
    assert "Showing 26–27 of 27 deliveries" in body
    assert [int(i) for i in re.findall(r'id="delivery-(\d+)"', body)] == ids[25:]
    # htmx gets the log's fragment alone, a plain request the whole page.
    assert body.lstrip().startswith('<section class="card card-flush" id="log">') and "<html" not in body
    assert second["Vary"] and "HX-Request" in second["Vary"]


def test_it_shows_a_disabled_channels_banner_and_re_enables_it(staff, hook, settings):
    settings.ALERT_CHANNEL_MAX_FAILURES = 2
    ch = channel(hook)
    other = channel(hook, name="quiet")
    hook.answer(500, 503)
    staff.post(f"/alerts/channels/{ch.pk}/test")
    assert f'id="disabled-{ch.pk}"' not in text(staff.get("/alerts/"))
    staff.post(f"/alerts/channels/{ch.pk}/test")
    ch.refresh_from_db()
    assert not ch.enabled and ch.consecutive_failures == 2

    for url in ("/alerts/", f"/alerts/channels/{ch.pk}", f"/alerts/channels/{ch.pk}/deliveries"):
        page = text(staff.get(url))
        banner = re.search(rf'<div class="alert alert-error banner" role="alert" id="disabled-{ch.pk}">.*?</div>',
                           page, re.S)
        assert banner, url
        assert "2 failed deliveries in a row" in banner.group(0)
        assert f'action="/alerts/channels/{ch.pk}/enable"' in banner.group(0)
        assert f'id="disabled-{other.pk}"' not in page

    response = staff.post(f"/alerts/channels/{ch.pk}/enable")
    assert response.status_code == 302
    ch.refresh_from_db()
    assert ch.enabled and ch.consecutive_failures == 0 and ch.disabled_reason == ""
    assert f'id="disabled-{ch.pk}"' not in text(staff.get("/alerts/"))
    assert f'id="disabled-{ch.pk}"' not in text(staff.get(f"/alerts/channels/{ch.pk}"))


# ---------------------------------------------------------------- cost


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_it_reads_each_page_with_a_fixed_number_of_queries_and_no_cypher(staff, hook, cypher_calls,
                                                                         django_assert_num_queries):
    ch = channel(hook)
    urls = ["/alerts/", f"/alerts/channels/{ch.pk}", f"/alerts/channels/{ch.pk}/deliveries"]
    services.rule_create(channel_id=ch.pk, spec=services.RuleSpec(kind="execution_failed"))
    services.channel_test_send(channel_id=ch.pk)
    few = [_queries(staff, url) for url in urls]

    for i in range(6):
        more = channel(hook, name=f"more-{i}")
        services.rule_create(channel_id=more.pk, spec=services.RuleSpec(kind="execution_stale"))
    for kind, threshold in (("attempts_above", 3), ("qc_score_below", 50)):
        services.rule_create(channel_id=ch.pk, spec=services.RuleSpec(kind=kind, threshold=threshold))
    hook.answer(500, 500)
    for _ in range(8):
        services.channel_test_send(channel_id=ch.pk)
    # Session, user, then the page's own: channels and rules; the channel and its rules; the
    # channel, the count, the deliveries and all their attempts.
    for url, expected, before in zip(urls, (4, 4, 6), few, strict=True):
        with django_assert_num_queries(expected):
            assert staff.get(url).status_code == 200
        assert before == expected
    assert cypher_calls == []


def test_it_refuses_to_rotate_from_a_page_shown_before_someone_else_rotated(staff, hook):
    ch = channel(hook)
    stale = shown_fingerprint(staff, ch)
    theirs = services.channel_secret_rotate(name="ops")  # a colleague, meanwhile (or the command)
    refused = staff.post(f"/alerts/channels/{ch.pk}/rotate", {"current": stale})
    assert refused.status_code == 409
    assert re.search(r'<p class="alert alert-error" role="alert" id="refused">Not rotated: the secret was rotated '
                     r'by someone else meanwhile', text(refused))
    ch.refresh_from_db()
    assert ch.secret == theirs and theirs not in text(refused)
    # The page now shows the secret in force, and from it the rotation goes through.
    assert staff.post(f"/alerts/channels/{ch.pk}/rotate", {"current": shown_fingerprint(staff, ch)}).status_code == 200
    missing = staff.post(f"/alerts/channels/{ch.pk}/rotate", {})
    assert missing.status_code == 400 and "current: missing" in text(missing)


def test_it_deletes_a_channel_with_its_rules_alerts_and_log_after_saying_what_goes(staff, hook, ingest):
    from alerts.models import AlertEvent, DeliveryAttempt
    from tests.support.pages import result

    ch = channel(hook)
    kept = channel(hook, name="kept")
    services.rule_create(channel_id=ch.pk, spec=services.RuleSpec(kind="execution_failed"), plan_id="etl")
    services.rule_create(channel_id=kept.pk, spec=services.RuleSpec(kind="execution_failed"))
    assert ingest.start("exec-1", "etl", 1, 1_764_000_000_000).status_code == 201
    assert ingest.task("exec-1", "t0", result("failure")).status_code == 201
    assert ingest.finish("exec-1", 1_764_000_600_000).status_code == 201
    work()
    assert Delivery.objects.filter(channel=ch, state="delivered").count() == 1
    assert f'/alerts/channels/{ch.pk}/delete"' in text(staff.get(f"/alerts/channels/{ch.pk}"))
    confirm = staff.get(f"/alerts/channels/{ch.pk}/delete")
    assert confirm.status_code == 200
    listed = re.search(r'<ul id="deleted">(.*?)</ul>', text(confirm), re.S).group(1)
    assert "1 rule: execution_failed on etl;" in listed and "0 queued alerts" in listed
    assert "1 sent or given-up alert." in listed
    assert AlertChannel.objects.filter(pk=ch.pk).exists()  # asking is not deleting
    deleted = staff.post(f"/alerts/channels/{ch.pk}/delete")
    assert (deleted.status_code, deleted["Location"]) == (302, "/alerts/")
    assert list(AlertChannel.objects.values_list("name", flat=True)) == ["kept"]
    assert not AlertRule.objects.filter(channel_id=ch.pk).exists()
    assert not Delivery.objects.filter(channel_id=ch.pk).exists()
    assert list(AlertEvent.objects.values_list("rule__channel__name", flat=True)) == ["kept"]
    assert DeliveryAttempt.objects.filter(delivery__channel=kept).count() == 1
    assert "ops" not in text(staff.get("/alerts/"))
    assert staff.get(f"/alerts/channels/{ch.pk}/delete").status_code == 404
    assert staff.post(f"/alerts/channels/{ch.pk}/delete").status_code == 404
