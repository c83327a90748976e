"""Schemathesis against the live API: every operation, generated requests, no 5xx, and every
answer (status code, content type, body) as the OpenAPI document says.

A live server (pytest-django's `live_server`), alice's API token, and a few of her objects so
that generated requests also hit real rows: each operation with path ids is fuzzed both with
generated ids and with the ids of alice's objects.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

import pytest
import schemathesis
from django.test import Client as HttpClient
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from referwell.accounts.models import ApiToken
from referwell.clients.models import Consent, ConsentScope
from referwell.interop.fhir.views import KINDS
from tests.factories import ClientFactory, PartnerFactory, ReferralFactory

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Valid requests (answered 2xx or a documented 4xx) and invalid ones (answered 4xx).
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
EXAMPLES_PER_OPERATION = int(os.environ.get("API_FUZZ_EXAMPLES", "40"))


@pytest.fixture
def alice_objects(alice):
    practice = alice.practice
    partner = PartnerFactory(practice=practice, email="riverside@example.com")
    client = ClientFactory(practice=practice)
    referral = ReferralFactory(practice=practice, client=client, partner=partner)
    consent = Consent.objects.create(
        practice=practice, client=client, partner=partner, scope=ConsentScope.REPORT
    )
    return {
        "partner_id": partner.pk,
        "client_id": client.pk,
        "referral_id": referral.pk,
        "consent_id": consent.pk,
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("member", ["alice", "bob"])  # the owner, and the front desk
def test_every_api_operation_answers_as_documented(live_server, request, member, alice_objects):
    _, token = ApiToken.issue(member=request.getfixturevalue(member))
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        names = [p.name for p in operation.path_parameters]
        strategies = [operation.as_strategy(mode) for mode in MODES]
        if names:
            known = {name: alice_objects[name] for name in names}
            strategies += [operation.as_strategy(mode, path_parameters=known) for mode in MODES]

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(strategies))
        def check(case):
            response = case.call(base_url=live_server.url, headers=headers, timeout=30)
            case.validate_response(response, checks=CHECKS)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # collected: every operation is run
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:3000]
    assert operations >= 20
    assert not failures, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())


# ----------------------------------------------------------------- regressions found by it


@pytest.mark.django_db
def test_documented_error_statuses(alice_api):
    schema = alice_api.get("/api/v1/openapi.json").json()
    responses = schema["paths"]["/api/v1/partners/{partner_id}"]["patch"]["responses"]
    assert {"200", "400", "401", "404", "422"} <= set(responses)
    listing = schema["paths"]["/api/v1/partners"]["get"]["responses"]
    assert "404" not in listing  # no id in the path: nothing to find
    assert {"200", "401", "422"} <= set(listing)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/partners/99999999999999999999999",
        "/api/v1/clients/99999999999999999999999",
        "/api/v1/referrals/99999999999999999999999",
        "/api/v1/clients/99999999999999999999999/consents",
    ],
)
def test_an_id_too_big_for_the_database_is_a_4xx_not_a_500(alice_api, path):
    response = alice_api.get(path)
    assert response.status_code in (404, 422), response.content
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/partners/-1", "/api/v1/referrals/abc"])
def test_a_malformed_id_is_a_json_4xx(alice_api, path):
    response = alice_api.get(path)
    assert response.status_code in (404, 422), response.content
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_ids_too_big_in_a_body_are_a_4xx(alice_api, alice_objects):
    huge = 10**30
    for path, body in [
        ("/api/v1/referrals", {"client": huge, "reasons": "back pain"}),
        ("/api/v1/clients", {"first_name": "Ann", "last_name": "Lee", "source_partner": huge}),
        ("/api/v1/referrals?client=" + str(huge), None),
    ]:
        if body is None:
            response = alice_api.get(path)
        else:
            response = alice_api.post(path, data=json.dumps(body), content_type="application/json")
        assert 400 <= response.status_code < 500, (path, response.content)


@pytest.mark.django_db
def test_unauthenticated_answer_is_documented_json():
    response = HttpClient().get("/api/v1/partners")
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}


# ----------------------------------------------------------------- the FHIR REST API

FHIR_TYPES = st.one_of(
    st.sampled_from(sorted(KINDS)), st.from_regex(r"[A-Za-z]{1,12}", fullmatch=True)
)
DATE_VALUES = st.one_of(
    st.sampled_from(
        [
            "eq9999-12-31",
            "ge9999-12-31T23:59:59Z",
            "le9999-12",
            "gt9999",
            "lt0001-01-01",
            "eq0001-01-01T00:00:00+14:00",
            "ge2026-02-30",
            "ge2026-13",
            "sa2026",
        ]
    ),
    st.tuples(
        st.sampled_from(["", "eq", "ne", "gt", "ge", "lt", "le"]),
        st.integers(0, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
    ).map(lambda t: f"{t[0]}{t[1]:04d}-{t[2]:02d}-{t[3]:02d}"),
)
NUMBER_VALUES = st.one_of(
    st.sampled_from(["²", "١٢", "-1", "1e3", "99999999999999999999", " 5", ""]),
    st.integers(0, 10**20).map(str),
)
ID_VALUES = st.one_of(
    NUMBER_VALUES,
    st.sampled_from(
        [
            "ServiceRequest/²",
            "ServiceRequest/99999999999999999999",
            "Practitioner/1",
            "http://hl7.org/fhir/sid/us-npi|1234567893",
            "http://hl7.org/fhir/sid/us-npi|123456789²",
            "urn:referwell:elm-grove:partner|²",
            "practice,1,²",
        ]
    ),
)
FHIR_VALUES = st.one_of(DATE_VALUES, ID_VALUES, st.just("x" * 5000), st.text(max_size=20))
FHIR_PARAMS = st.one_of(
    st.tuples(st.just("_lastUpdated"), DATE_VALUES),
    st.tuples(st.sampled_from(["_count", "_offset"]), NUMBER_VALUES),
    st.tuples(st.sampled_from(["_id", "identifier", "focus", "specialty", "role"]), ID_VALUES),
    st.tuples(
        st.one_of(
            st.sampled_from(
                sorted({name for kind in KINDS.values() for name in kind.params})
                + ["_format", "name:exact", "name:contains", "name:missing"]
            ),
            st.text(max_size=12),
        ),
        FHIR_VALUES,
    ),
)


@pytest.mark.django_db
@settings(
    max_examples=EXAMPLES_PER_OPERATION * 4,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    kind=FHIR_TYPES,
    params=st.lists(FHIR_PARAMS, max_size=4),
    resource_id=st.one_of(st.none(), ID_VALUES),
)
@example(kind="Practitioner", params=[("_count", "²")], resource_id=None)
@example(kind="Practitioner", params=[("_lastUpdated", "eq9999-12-31")], resource_id=None)
@example(kind="Task", params=[("_lastUpdated", "eq0001-01-01T00:00:00+14:00")], resource_id=None)
@example(kind="Practitioner", params=[], resource_id="²")
def test_fhir_api_answers_bad_searches_with_an_operation_outcome(
    alice_api, alice_objects, kind, params, resource_id
):
    path = f"/fhir/R4/{kind}"
    if resource_id is not None:
        path += "/" + quote(resource_id, safe="")
    response = alice_api.get(path, params)
    assert response.status_code < 500, (path, params, response.content[:500])
    assert "json" in response["Content-Type"]
    body = json.loads(response.content)
    assert body["resourceType"] in ("Bundle", "OperationOutcome", kind)
    if response.status_code >= 400:
        assert body["resourceType"] == "OperationOutcome"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"_count": "²"},
        {"_offset": "-1"},
        {"_lastUpdated": "eq9999-12-31"},
        {"_lastUpdated": "ge9999-12-31T23:59:59Z"},
        {"_lastUpdated": "eq0001-01-01T00:00:00+14:00"},
    ],
)
def test_fhir_search_with_unusable_numbers_or_dates_is_a_400(alice_api, query):
    """int("²") (a digit to str.isdigit) and dates beyond the calendar were 500s."""
    response = alice_api.get("/fhir/R4/Practitioner", query)
    assert response.status_code == 400, response.content
    assert json.loads(response.content)["resourceType"] == "OperationOutcome"


@pytest.mark.django_db
def test_fhir_search_with_a_huge_offset_is_an_empty_page(alice_api, alice_objects):
    response = alice_api.get("/fhir/R4/Practitioner", {"_offset": "9" * 5000})
    assert response.status_code == 200, response.content
    assert "entry" not in json.loads(response.content)


@pytest.mark.django_db
def test_fhir_search_by_a_superscript_id_finds_nothing(alice_api, alice_objects):
    response = alice_api.get("/fhir/R4/Practitioner", {"_id": "²"})
    assert response.status_code == 200, response.content
    assert json.loads(response.content)["total"] == 0


@pytest.mark.django_db
def test_fhir_read_of_a_superscript_id_is_a_404(alice_api):
    response = alice_api.get("/fhir/R4/Practitioner/%C2%B2")
    assert response.status_code == 404
    assert json.loads(response.content)["resourceType"] == "OperationOutcome"


@pytest.mark.django_db
def test_api_partner_npi_with_superscript_digits_is_a_422(alice_api):
    """validate_npi ran int() over "²" (a digit to str.isdigit): a ValueError, a 500."""
    response = alice_api.post(
        "/api/v1/partners",
        data=json.dumps({"name": "Dr. Rita Moreno", "npi": "123456789²"}),
        content_type="application/json",
    )
    assert response.status_code == 422, response.content
    assert "npi" in json.dumps(response.json()["detail"])


@pytest.mark.django_db
@pytest.mark.parametrize("on", ["9999-12-31", "0001-01-01"])
def test_today_on_a_day_at_the_calendars_edge_is_a_422(alice_api, alice_objects, on):
    """Adding days to 9999-12-31 overflowed: a 500."""
    response = alice_api.get("/api/v1/today", {"on": on})
    assert response.status_code == 422, response.content
    assert alice_api.get("/api/v1/today", {"on": "2199-12-31"}).status_code == 200


@pytest.mark.django_db
def test_nul_characters_are_refused_with_a_reason(alice_api, alice_objects):
    """PostgreSQL refuses NUL in text (a 500 on save or in a query); SQLite stored them."""
    body = json.dumps({"name": "Dr. Rita\u0000 Moreno", "niches": ["ok", "bad\u0000"]})
    created = alice_api.post("/api/v1/partners", data=body, content_type="application/json")
    assert created.status_code == 422, created.content
    assert "Null characters are not allowed" in created.content.decode()
    listed = alice_api.get("/api/v1/clients", {"q": "a\x00b"})
    assert listed.status_code == 400
    assert "NUL" in listed.json()["detail"]
    patch = alice_api.patch(
        f"/api/v1/referrals/{alice_objects['referral_id']}",
        data=json.dumps({"reasons": "\u0000"}),
        content_type="application/json",
    )
    assert patch.status_code == 422
