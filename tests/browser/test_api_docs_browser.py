"""The API docs in a real browser: Swagger UI renders every call under the strict CSP (the chromium
fixture fails a test on any refused script or style), and a pasted ingest token authorizes its calls."""

import json
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

pytestmark = pytest.mark.browser


def test_it_renders_the_api_and_tries_a_call_with_an_authorized_token(page):
    page.start("run-docs", "plan-docs", 3, int(time.time() * 1000))
    page.open("/api/v1/docs")  # public, like the OpenAPI document it shows
    start = page.wait_for(EC.visibility_of_element_located(
        (By.CSS_SELECTOR, "#operations-default-executions_api_execution_start")))
    assert start.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text == "POST"
    assert start.find_element(By.CSS_SELECTOR, ".opblock-summary-path").text == "/api/v1/executions"
    operations = {el.get_attribute("id") for el in page.csss(".opblock[id^='operations-default-']")}
    # Every operation of the OpenAPI document, and nothing else.
    document = page.http.get(page.base + "/api/v1/openapi.json").json()
    expected = sum(len(methods) for methods in document["paths"].values())
    assert len(operations) == expected >= 11, operations
    page.screenshot("api-docs")

    # Authorize with the bearer token, as a user would paste it.
    page.css(".auth-wrapper .authorize").click()
    field = page.wait_for(EC.visibility_of_element_located((By.CSS_SELECTOR, ".modal-ux input[type=text]")))
    field.send_keys(page.token)
    page.css(".modal-ux .auth-btn-wrapper button.authorize").click()
    page.wait_for(EC.visibility_of_element_located((By.CSS_SELECTOR, ".modal-ux button.btn-done"))).click()

    # Try GET /api/v1/executions/{execution_id}: the token goes along, the execution comes back.
    get = page.css("#operations-default-executions_api_execution_get")
    get.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    page.wait_for(lambda d: get.find_elements(By.CSS_SELECTOR, ".try-out__btn"))[0].click()
    get.find_element(By.CSS_SELECTOR, "input[placeholder='execution_id']").send_keys("run-docs")
    get.find_element(By.CSS_SELECTOR, "button.execute").click()
    status = page.wait_for(EC.visibility_of_element_located(
        (By.CSS_SELECTOR, "#operations-default-executions_api_execution_get .live-responses-table tr.response .response-col_status")))
    assert status.text == "200"
    body = get.find_element(By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_description pre").text
    assert json.loads(body)["executionId"] == "run-docs"
    curl = get.find_element(By.CSS_SELECTOR, ".curl").text
    assert f"Authorization: Bearer {page.token}" in curl
