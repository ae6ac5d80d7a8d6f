"""The Content-Security-Policy middleware that builds the settings' policy once
(executions.middleware.CachedPolicyCSPMiddleware): every response carries the policy django-csp
would have built for it."""

from __future__ import annotations

import pytest
from csp.constants import HEADER, NONCE, SELF
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from executions.middleware import CachedPolicyCSPMiddleware


def _answer(middleware_class, *, prepare=None, use_nonce: bool = False):
    request = RequestFactory().get("/")
    middleware = middleware_class(lambda r: HttpResponse("ok"))
    middleware.process_request(request)
    if use_nonce:
        str(request.csp_nonce)
    response = HttpResponse("ok")
    if prepare:
        prepare(response)
    return request, middleware.process_response(request, response)


def test_it_answers_pages_and_the_api_with_django_csps_policy(client, ingest_token):
    expected = _answer(CSPMiddleware)[1][HEADER]
    assert client.get("/accounts/login/")[HEADER] == expected
    api = client.get("/api/v1/executions", HTTP_AUTHORIZATION=f"Bearer {ingest_token}")
    assert api[HEADER] == expected


def _policy_with(**directives) -> dict:
    return {**settings.CONTENT_SECURITY_POLICY,
            "DIRECTIVES": {**settings.CONTENT_SECURITY_POLICY["DIRECTIVES"], **directives}}


def test_it_builds_a_policy_with_the_nonce_a_response_used():
    with override_settings(CONTENT_SECURITY_POLICY=_policy_with(**{"script-src": [SELF, NONCE]})):
        request, response = _answer(CachedPolicyCSPMiddleware, use_nonce=True)
        assert f"'nonce-{request.csp_nonce}'" in response[HEADER]
        _, other = _answer(CachedPolicyCSPMiddleware, use_nonce=True)
        assert other[HEADER] != response[HEADER]


def test_it_refuses_a_nonce_asked_for_after_the_header_was_written():
    request, _ = _answer(CachedPolicyCSPMiddleware)
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)


def test_it_keeps_a_views_own_policy():
    def widen(response):
        response._csp_update = {"img-src": ["https://images.example"]}

    _, response = _answer(CachedPolicyCSPMiddleware, prepare=widen)
    assert response[HEADER] == _answer(CSPMiddleware, prepare=widen)[1][HEADER]
    assert "https://images.example" in response[HEADER]


def test_it_follows_a_changed_policy_setting():
    before = _answer(CachedPolicyCSPMiddleware)[1][HEADER]
    with override_settings(CONTENT_SECURITY_POLICY=_policy_with(**{"img-src": [SELF]})):
        during = _answer(CachedPolicyCSPMiddleware)[1][HEADER]
        assert during == _answer(CSPMiddleware)[1][HEADER] != before
    assert _answer(CachedPolicyCSPMiddleware)[1][HEADER] == before
