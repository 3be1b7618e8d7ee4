"""How the API answers when the database fails, decided from the exception alone (no database needed).

A dropped or refused connection is 503 with `Retry-After`, whichever layer raises it (the event store wraps
SQLAlchemy's errors; the read side may not) and however deep it is chained; a wrong query is still a bug (500).
A worker that starts while the database is away waits for it instead of failing to boot.
"""

from __future__ import annotations

import pytest
import sqlalchemy.exc
from eventsourcing.persistence import OperationalError, PersistenceError, ProgrammingError

from api.serve import when_database_answers
from tests.api.http_world import is_problem


def dropped_connection() -> Exception:
    cause = sqlalchemy.exc.DBAPIError(
        "SELECT 1", {}, Exception("SSL SYSCALL error: EOF detected"), connection_invalidated=True
    )
    try:
        raise PersistenceError(cause) from cause
    except PersistenceError as error:
        return error


FAULTS = [
    pytest.param(lambda: OperationalError("connection refused"), 503, id="store-operational-error"),
    pytest.param(dropped_connection, 503, id="invalidated-connection-under-a-generic-store-error"),
    pytest.param(
        lambda: sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection")),
        503,
        id="read-side-sqlalchemy-operational-error",
    ),
    pytest.param(
        lambda: sqlalchemy.exc.InterfaceError("SELECT 1", {}, Exception("connection already closed")),
        503,
        id="read-side-sqlalchemy-interface-error",
    ),
    pytest.param(lambda: ProgrammingError("relation does not exist"), 500, id="a-wrong-query-is-a-bug"),
]


@pytest.mark.parametrize(("fault", "status"), FAULTS)
def test_a_database_fault_is_answered_by_its_kind(api, monkeypatch, fault, status):
    def failing(*args, **kwargs):
        raise fault()

    monkeypatch.setattr(api.ledger, "governorates", failing)
    response = api.get("/v1/governorates")
    assert is_problem(response, status)
    assert ("Retry-After" in response.headers) == (status == 503)


def test_a_starting_worker_waits_for_the_database_and_then_builds_the_app():
    attempts = []

    def build():
        attempts.append(1)
        if len(attempts) < 3:
            raise OperationalError("connection refused")
        return "app"

    assert when_database_answers(build, wait=10) == "app" and len(attempts) == 3


def test_a_starting_worker_gives_up_after_the_wait_and_never_waits_on_a_bug():
    def away():
        raise OperationalError("connection refused")

    with pytest.raises(OperationalError):
        when_database_answers(away, wait=0.3)
    with pytest.raises(KeyError):
        when_database_answers(lambda: {}["missing"], wait=10)
