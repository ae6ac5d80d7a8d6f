"""Under /api/ every answer is JSON, errors included, in the API's error shape."""

from __future__ import annotations

import pytest


def _is_api_error(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == error and body["detail"] and body["errors"] == []
    return body


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v2/executions", "/api/", "/api/v1/executions/e/tasks/x/y/z"])
def test_it_answers_an_unknown_api_route_with_json(client, ingest_token, path):
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {ingest_token}")
    _is_api_error(response, 404, "not_found")


def test_it_answers_a_wrong_method_with_json_and_the_allowed_ones(client, ingest_token):
    response = client.delete("/api/v1/executions/e/finish", HTTP_AUTHORIZATION=f"Bearer {ingest_token}")
    _is_api_error(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"]


def test_it_refuses_a_chunked_body_saying_to_send_a_length(client, ingest_token):
    response = client.post(
        "/api/v1/executions", data=b"", content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {ingest_token}", HTTP_TRANSFER_ENCODING="chunked",
    )
    body = _is_api_error(response, 411, "length_required")
    assert "Content-Length" in body["detail"]


def test_it_leaves_pages_to_their_html_error_pages(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
