"""Signing in, in a real browser: the pause after too many wrong passwords and the password reset
by email are the product's own pages (under the strict CSP: the chromium fixture fails a test on any
refused script or style); the reset goes through a real SMTP server on 127.0.0.1."""

import pytest
from django.conf import settings
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from tests.mail import mail_server, use_smtp

pytestmark = pytest.mark.browser


def _new_document(driver) -> bool:
    try:
        return driver.execute_script("return document.readyState === 'complete' && window.__beforeSubmit === undefined")
    except WebDriverException:  # asked while the documents are being swapped: not yet
        return False


def _submit(page, path: str, username: str, password: str) -> None:
    page.open(path)
    page.driver.find_element(By.ID, "id_username").send_keys(username)
    page.driver.find_element(By.ID, "id_password").send_keys(password)
    # The page answering the post, not the form it replaces (both have an h1): a mark on the old
    # document is gone from the new one. (Waiting for the old button to go stale raced chromedriver,
    # which may answer "No node with given id" instead of a stale element while the page is swapped.)
    page.js("window.__beforeSubmit = true")
    page.driver.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
    page.wait_for(_new_document)
    page.wait_for(EC.presence_of_element_located((By.CSS_SELECTOR, "h1")))


def test_too_many_wrong_passwords_pause_sign_in_on_a_product_page(page):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _submit(page, "/accounts/login/", "admin", "wrong password")
        assert "didn't match" in page.css(".alert-error").text
    _submit(page, "/accounts/login/", "admin", "wrong password")
    assert page.css("main h1").text == "Sign-in paused"
    assert "You can try again at" in page.css("main").text and "UTC" in page.css("main").text
    # Styled by the app's stylesheet: the card is centred and narrow, like the sign-in form.
    assert page.js("return getComputedStyle(document.querySelector('.auth-card')).maxWidth") == "380px"
    page.screenshot("signin-paused")
    # The right password now, and the admin's own sign-in: the same page.
    _submit(page, "/accounts/login/", "admin", "a long and correct password")
    assert page.css("main h1").text == "Sign-in paused"
    _submit(page, "/admin/login/", "admin", "a long and correct password")
    assert page.css("main h1").text == "Sign-in paused"
    assert page.driver.title == "Sign-in paused · Mimir Execution Dashboard"


def test_a_forgotten_password_is_reset_by_email(page, settings):
    with mail_server() as smtp:
        use_smtp(settings, smtp.port)
        page.open("/accounts/login/")
        page.driver.find_element(By.LINK_TEXT, "Forgot your password?").click()
        page.wait_text("Reset your password", "main h1")
        page.driver.find_element(By.ID, "id_email").send_keys("admin@example.com")
        page.screenshot("password-reset-form")
        page.css("form.stack button[type=submit]").click()
        page.wait_text("Check your email", "main h1")
        [message] = smtp.messages
    page.driver.get(smtp.link(message))
    page.wait_text("Choose a new password", "main h1")
    new = "a brand new and long password"
    page.driver.find_element(By.ID, "id_new_password1").send_keys(new)
    page.driver.find_element(By.ID, "id_new_password2").send_keys(new)
    page.screenshot("password-reset-choose")
    page.css("form.stack button[type=submit]").click()
    page.wait_text("Password set", "main h1")
    page.driver.find_element(By.LINK_TEXT, "Sign in").click()
    page.sign_in(password=new)
