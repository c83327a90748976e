"""The cast (after healthchecks): alice owns Elm Grove, bob is her front desk,
charlie owns another practice and must never see Elm Grove's data."""

import os
import subprocess
from pathlib import Path

import pytest
from django.test import Client as HttpClient

from referwell.accounts.models import ApiToken, Role
from tests.factories import (
    ClientFactory,
    MemberFactory,
    PartnerFactory,
    PracticeFactory,
    ReferralFactory,
    UserFactory,
)

# Playwright's sync API runs an event loop in the test thread; Django's ORM is still used
# synchronously from that thread by the fixtures.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# --- The conformance layer: real third-party files in ../shared (not in this repository) -------
SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_MISSING = (
    "conformance layer skipped: ../shared (the real vCards, FHIR examples, NPPES rows and "
    "code sets it reads) is not beside this clone"
)


def shared(*parts: str) -> Path:
    """A file or folder of ../shared; the test is skipped, saying why, when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(SHARED_MISSING)
    return path


def pytest_report_header(config):
    return f"conformance layer: {'../shared found' if SHARED.is_dir() else SHARED_MISSING}"


PSQL = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-tAc"]


def psql(sql: str, database: str = "postgres") -> str:
    """A statement run by psql on the machine's PostgreSQL (tests that need a database of
    their own, whatever the suite's DATABASE_URL)."""
    result = subprocess.run(
        [*PSQL, sql, database], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.strip()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Playwright cannot download browsers here: every browser test runs Debian's Chromium,
    headless."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def elm_grove(db):
    return PracticeFactory(slug="elm-grove", name="Elm Grove Massage")


@pytest.fixture
def other_practice(db):
    return PracticeFactory(slug="lakeside", name="Lakeside Bodywork")


@pytest.fixture
def alice(elm_grove):
    user = UserFactory(email="alice@example.com", first_name="Alice", last_name="Owner")
    return MemberFactory(user=user, practice=elm_grove, role=Role.OWNER)


@pytest.fixture
def bob(elm_grove):
    user = UserFactory(email="bob@example.com", first_name="Bob", last_name="Desk")
    return MemberFactory(user=user, practice=elm_grove, role=Role.FRONT_DESK)


@pytest.fixture
def charlie(other_practice):
    user = UserFactory(email="charlie@example.com", first_name="Charlie", last_name="Other")
    return MemberFactory(user=user, practice=other_practice, role=Role.OWNER)


def _logged_in(member):
    http = HttpClient()
    http.force_login(member.user)
    return http


@pytest.fixture
def alice_http(alice):
    return _logged_in(alice)


@pytest.fixture
def bob_http(bob):
    return _logged_in(bob)


@pytest.fixture
def charlie_http(charlie):
    return _logged_in(charlie)


def _api_client(member):
    _, token = ApiToken.issue(member=member)
    return HttpClient(headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def alice_api(alice):
    return _api_client(alice)


@pytest.fixture
def charlie_api(charlie):
    return _api_client(charlie)


@pytest.fixture
def partner(elm_grove):
    return PartnerFactory(practice=elm_grove, name="Dr. Dana Spine", professions=["chiropractor"])


@pytest.fixture
def client_alice_jones(elm_grove):
    return ClientFactory(
        practice=elm_grove,
        first_name="Alice",
        last_name="Jones",
        complaints="Low back and neck pain since being rear-ended.",
    )


@pytest.fixture
def referral(elm_grove, client_alice_jones, partner):
    return ReferralFactory(practice=elm_grove, client=client_alice_jones, partner=partner)


@pytest.fixture(autouse=True)
def _own_audit_checkpoints(settings, tmp_path):
    """Each test's audit checkpoints in a file of its own (ids come again after a rollback)."""
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "audit-checkpoints.jsonl"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits live in the cache, what is kept of a practice's data in this process: each test starts with
    none (a rolled-back test's ids come again in the next one, data versions included)."""
    from django.core.cache import caches

    from referwell.accounts.kept import forget_all

    for cache in caches.all():
        cache.clear()
    forget_all()
    yield
    for cache in caches.all():
        cache.clear()
    forget_all()


@pytest.fixture
def rules_only(monkeypatch):
    """The guidance's rules alone, without the meaning reader (tests of what a rule reads)."""
    from referwell.guidance import library

    monkeypatch.setattr(library, "available", lambda: False)
