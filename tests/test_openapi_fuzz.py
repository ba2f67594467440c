"""schemathesis against the app's own OpenAPI document, in-process: no 500, no undocumented status, true schemas."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from service.web.app import create_app

pytestmark = pytest.mark.heavy

ADMIN_TOKEN = "fuzz-admin-token-0123456789abcdefghijklmnop"
CALLS: Counter = Counter()
EXAMPLES = 60  # per operation: about 700 requests per database, a minute or two in all
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


class RecordingNotifier:
    """The fuzzer's subscribe requests are counted here instead of queued for a worker (this test is about HTTP)."""

    def subscribe_request(self, request) -> None:
        CALLS["subscribe_request"] += 1

    def confirmation(self, subscriber_id, list_ids) -> None:
        CALLS["confirmation"] += 1

    def welcome(self, subscriber_id, list_ids) -> None:
        CALLS["welcome"] += 1


@pytest.fixture(scope="module", autouse=True)
def fuzz_report():
    """The figures for the closing note: operations, requests and the statuses they got."""
    yield
    calls = {key: count for key, count in CALLS.items() if key.count(" ") == 2}
    statuses: Counter = Counter()
    for key, count in calls.items():
        statuses[key.rsplit(" ", 1)[1]] += count
    operations = len({key.rsplit(" ", 1)[0] for key in calls})
    print(
        f"\n[schemathesis] operations={operations} requests={sum(calls.values())} "
        f"statuses={dict(sorted(statuses.items()))}"
    )


@pytest.fixture
def fuzzed_app(settings, db, world_news):
    """The real app with an admin token, on the test databases (SQLite and PostgreSQL)."""
    return create_app(settings.model_copy(update={"admin_token": ADMIN_TOKEN}), notifier=RecordingNotifier())


@pytest.fixture
def api_schema(fuzzed_app):
    """The document the app serves at /api/openapi.json."""
    return schemathesis.openapi.from_asgi("/api/openapi.json", fuzzed_app)


def fuzz(operation, answered) -> None:
    """Call one operation with the cases the spec allows (admin paths with the admin token); `answered` checks each."""

    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    def run(case):
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"} if case.path.startswith("/api/admin/") else None
        answered(case, case.call(headers=headers))

    run()


def test_every_operation_answers_only_what_it_documents(api_schema):
    failures = []
    for result in api_schema.get_all_operations():
        operation = result.ok()

        def answered(case, response):
            CALLS[f"{case.method} {case.path} {response.status_code}"] += 1
            case.validate_response(response, checks=CHECKS)

        try:
            fuzz(operation, answered)
        except Exception as error:  # noqa: BLE001 - collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert not failures, "\n\n".join(failures)


def test_the_spec_documents_the_admin_auth_and_our_error_body(api_schema):
    raw = api_schema.raw_schema
    assert raw["components"]["securitySchemes"]["AdminToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer <token>`: an API token (admin UI, API tokens page, or "
        "`newsletter admin tokens create`; scoped to its role) or the bootstrap ADMIN_TOKEN "
        "(at least 32 characters outside development)",
    }
    admin = raw["paths"]["/api/admin/stories"]["post"]
    assert admin["security"] == [{"AdminToken": []}]
    assert {"401", "413", "422", "429"} <= set(admin["responses"])
    assert admin["requestBody"]["required"] is True
    assert raw["components"]["schemas"]["ErrorBody"]["required"] == ["error", "detail"]
    subscribe = raw["paths"]["/api/subscriptions"]["post"]["responses"]
    assert {"202", "404", "413", "422", "429", "503"} <= set(subscribe)


ABOUT_THESE_RULES = re.compile(r"email address|slug|[Ll]anguage|lists\.|address:")  # other rules: other tests
RULED = {
    ("POST", "/api/subscriptions"),
    ("POST", "/api/admin/lists"),
    ("PATCH", "/api/admin/lists/{slug}"),
    ("POST", "/api/admin/suppressions"),
    ("DELETE", "/api/admin/suppressions"),
}


def test_requests_the_spec_allows_are_never_a_422_for_the_email_slug_and_language_rules(api_schema):
    """The spec states the email (format, maxLength), slug (pattern) and language (pattern) rules the app checks."""
    schemas = api_schema.raw_schema["components"]["schemas"]
    assert schemas["SubscriptionRequest"]["properties"]["email"]["format"] == "email"
    assert schemas["SubscriptionRequest"]["properties"]["lists"]["items"]["pattern"] == "^[a-z0-9][a-z0-9-]{0,63}$"
    assert schemas["ListIn"]["properties"]["languages"]["items"]["pattern"] == "^[a-z]{2,3}$"
    refused = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) not in RULED:
            continue

        def answered(case, response):
            if response.status_code == 422 and ABOUT_THESE_RULES.search(response.text):
                refused.append(f"{case.method} {case.path} {case.body!r:.200}: {response.text[:200]}")

        fuzz(operation, answered)
    assert not refused, "\n".join(refused[:20])
