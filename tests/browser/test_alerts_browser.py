"""The alerts pages in a real browser (under the strict CSP: the chromium fixture fails a test on
any refused script or style): a webhook channel and a rule created from the forms, its secret read
off the page it is shown on once, "send test" received by a real receiver on loopback and shown in
the delivery log, then a failing execution posted over HTTP alerted by the worker (run in-process,
as `deliver_alerts --once`) and shown there too."""

import json

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from alerts.models import AlertChannel, AlertRule
from tests.support.alerts import documented_verify, work
from tests.support.pages import run
from tests.support.receiver import receiver


def _submit(page, form_css: str) -> None:
    """Submits a form and waits for the page that answers it (a mark on the old document is gone)."""
    page.js("window.__beforeSubmit = true")
    page.css(f"{form_css} button[type=submit]").click()
    page.wait_for(lambda d: page.js("return document.readyState === 'complete' && window.__beforeSubmit === undefined"))


def test_it_creates_a_webhook_and_a_rule_sends_a_test_and_shows_deliveries_in_the_log(page):
    verify = documented_verify()
    with receiver() as hook:
        page.sign_in()
        page.open("/plans")
        page.css("nav.nav a[href='/alerts/']").click()
        page.wait_text("New channel", "main")

        page.css("#id_name").send_keys("ops-hook")
        Select(page.css("#id_kind")).select_by_value("webhook")
        page.css("#id_url").send_keys(hook.url)
        _submit(page, "#channel-form")
        page.wait_text("Channel ops-hook created", "h1")
        shown = page.css("#secret").text
        channel = AlertChannel.objects.get(name="ops-hook")
        assert shown == channel.secret
        page.screenshot("alerts-secret")

        page.css("main a.btn-primary").click()
        page.wait_text("New rule", "main")
        assert shown not in page.css("main").text
        Select(page.css("#id_kind")).select_by_value("execution_failed")
        _submit(page, "#rule-form")
        rule = AlertRule.objects.get(channel=channel, kind="execution_failed")
        page.wait_for(EC.presence_of_element_located((By.ID, f"rule-{rule.pk}")))
        assert "all plans" in page.css(f"#rule-{rule.pk}").text
        page.screenshot("alerts-channel")

        _submit(page, "form[action$='/test']")
        page.wait_text("Delivery log of ops-hook", "h1")
        assert page.css("#log-count").text == "Showing 1–1 of 1 deliveries"
        entry = page.css("article.delivery")
        assert "channel_test" in entry.text and "delivered" in entry.text and "200" in entry.text
        (test,) = hook.requests
        assert json.loads(test.body)["kind"] == "channel_test"
        assert verify(shown, test.headers, test.body)

        run(page, "exec-alerted", failed=(1,))
        work()
        page.driver.refresh()
        page.wait_text("Showing 1–2 of 2 deliveries", "#log-count")
        newest = page.csss("article.delivery")[0]
        assert "execution_failed" in newest.text and "delivered" in newest.text
        alert = hook.requests[-1]
        assert len(hook.requests) == 2 and verify(shown, alert.headers, alert.body)
        assert json.loads(alert.body)["execution"]["executionId"] == "exec-alerted"
        page.screenshot("alerts-delivery-log")

        page.open("/alerts/")
        fired = rule.events.get().created_at.strftime("%Y-%m-%d %H:%M:%S")
        cells = [td.text for td in page.csss(f"#rule-{rule.pk} td")]
        assert cells[-2:] == ["1", f"{fired} UTC"]  # one alert, and its last firing
        page.screenshot("alerts-index")
