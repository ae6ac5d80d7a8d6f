"""Signing in, in a real browser: the pause after too many wrong passwords is the product's own page
(under the strict CSP: the chromium fixture fails a test on any refused script or style)."""

import pytest
from django.conf import settings
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

pytestmark = pytest.mark.browser


def _submit(page, path: str, username: str, password: str) -> None:
    page.open(path)
    page.driver.find_element(By.ID, "id_username").send_keys(username)
    page.driver.find_element(By.ID, "id_password").send_keys(password)
    page.driver.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
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
