"""The auditors' routes in the full app: roles, problem+json errors, paging, digests, statements and as-of."""

from __future__ import annotations

import csv
import io

import pytest

from api.app import create_app
from tests.audit.audit_world import seed

TOKENS = {"auditor": "aud-token", "staff": "staff-token", "portal": "portal-token"}


class Client:
    """A test client that sends the auditor's token unless told otherwise."""

    def __init__(self, flask_client, role: str = "auditor") -> None:
        self.flask_client, self.role = flask_client, role

    def get(self, path: str, role: str | None = None):
        token = TOKENS[role or self.role]
        return self.flask_client.get(path, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def client(sqlite_url, make_ledger):
    ledger = make_ledger(sqlite_url)
    seed(ledger)
    env = {"LEDGER_TOKENS": ",".join(f"{token}={role}" for role, token in TOKENS.items())}
    return Client(create_app(env, ledger=ledger).test_client())


def test_only_auditors_verify_and_staff_read_histories(client):
    assert client.get("/v1/audit/verify", role="staff").status_code == 403
    assert client.get("/v1/audit/digest", role="portal").status_code == 403
    assert client.get("/v1/subscribers/DI-1/events", role="portal").status_code == 403
    assert client.get("/v1/subscribers/DI-1/events", role="staff").status_code == 200
    refused = client.get("/v1/audit/digest", role="portal")
    assert refused.mimetype == "application/problem+json"


def test_the_profile_replays_to_an_event_position(client):
    first = client.get("/v1/subscribers/DI-1/events?limit=2").get_json()["items"]
    then = client.get(f"/v1/subscribers/DI-1?as_of_position={first[1]['position']}", role="staff")
    assert then.status_code == 200
    body = then.get_json()
    assert body["version"] == 2 and body["replayed"]["position"] == first[1]["position"]
    assert client.get("/v1/subscribers/DI-1?as_of=2000-01-01T00:00:00Z", role="staff").status_code == 404
    assert client.get("/v1/subscribers/DI-1?as_of=yesterday", role="staff").status_code == 422


def test_events_are_paged_with_a_cursor(client):
    first = client.get("/v1/subscribers/DI-1/events?limit=5").get_json()
    rest = client.get(f"/v1/subscribers/DI-1/events?cursor={first['next_cursor']}").get_json()
    assert len(first["items"]) == 5 and len(rest["items"]) == 4 and rest["next_cursor"] is None
    assert first["items"][4]["data"]["amount"] == "1000.00"
    assert client.get("/v1/subscribers/DI-1/events?cursor=abc").status_code == 422
    assert client.get("/v1/subscribers/NOPE/events").status_code == 404


def test_digest_and_verify_agree(client):
    digest = client.get("/v1/audit/digest").get_json()
    assert digest["algorithm"] == "sha256-chain-v1" and len(digest["digest"]) == 64
    report = client.get(f"/v1/audit/verify?digest={digest['digest']}@{digest['position']}").get_json()
    assert report["ok"] is True and report["anchor"]["ok"] is True
    assert client.get("/v1/audit/verify?digest=zz").status_code == 422


def test_statements_come_as_csv_and_html(client):
    response = client.get("/v1/subscribers/DI-1/statement.csv?from=2000-01-01&to=2100-12-31")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows[-1]["balance"] == "2100.00"
    page = client.get("/v1/subscribers/DI-1/statement.html")
    assert page.mimetype == "text/html" and "Closing balance" in page.get_data(as_text=True)
    assert client.get("/v1/subscribers/DI-1/statement.csv?from=yesterday").status_code == 422
