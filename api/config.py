"""The API's configuration, read once from environment variables when an app is built.

- `LEDGER_DATABASE_URL`: the event store (see `ledger.config`).
- `LEDGER_TOKENS`: API clients, `TOKEN=ROLE,...` with ROLE `staff`, `auditor`, `portal` or `bank:CODE`.
- `PROMETHEUS_MULTIPROC_DIR`: when set (as `ledger serve` does), /metrics aggregates every gunicorn worker.

Tokens are kept only as SHA-256 digests; a client's name (recorded on every event it causes) is its role and the
first eight hex digits of that digest, e.g. `bank:CBS#9f86d081`, so logs and events never contain a token.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ledger import governorate as gov

ROLES = ("staff", "auditor", "portal", "bank")
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Client:
    """An authenticated API client: a role, and for banks the bank code it acts for."""

    name: str
    role: str
    bank: str | None = None


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    clients: dict[bytes, Client] = field(default_factory=dict)
    multiprocess_dir: str | None = None


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def parse_role(spec: str) -> tuple[str, str | None]:
    """`staff` -> ("staff", None); `bank:CBS` -> ("bank", "CBS"). Raises ValueError naming the bad role."""
    role, _, bank = spec.partition(":")
    if role not in ROLES or (role == "bank") != bool(bank):
        raise ValueError(f"LEDGER_TOKENS: role {spec!r} is not staff, auditor, portal or bank:CODE")
    if bank and bank not in gov.bank_codes():
        raise ValueError(f"LEDGER_TOKENS: bank {bank!r} is not one of {', '.join(gov.bank_codes())}")
    return role, bank or None


def parse_tokens(spec: str) -> dict[bytes, Client]:
    """Parse `TOKEN=ROLE,...` into clients keyed by token digest; error messages never repeat a token."""
    clients: dict[bytes, Client] = {}
    for position, entry in enumerate(filter(None, (part.strip() for part in spec.split(","))), start=1):
        token, sep, role_spec = entry.rpartition("=")
        if not sep or not token:
            raise ValueError(f"LEDGER_TOKENS: entry {position} is not TOKEN=ROLE")
        role, bank = parse_role(role_spec.strip())
        digest = token_digest(token.strip())
        clients[digest] = Client(name=f"{role_spec.strip()}#{digest.hex()[:8]}", role=role, bank=bank)
    return clients


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the environment once; `env` overrides `os.environ` key by key."""
    source = {**os.environ, **(env or {})}
    return Settings(
        database_url=source.get("LEDGER_DATABASE_URL") or None,
        clients=parse_tokens(source.get("LEDGER_TOKENS", "")),
        multiprocess_dir=source.get("PROMETHEUS_MULTIPROC_DIR") or None,
    )


def demo_tokens(env: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(token, role) pairs from LEDGER_TOKENS, for `ledger serve --demo-banner` only (demo tokens are public)."""
    source = {**os.environ, **(env or {})}
    pairs = []
    for entry in filter(None, (part.strip() for part in source.get("LEDGER_TOKENS", "").split(","))):
        token, _, role = entry.rpartition("=")
        pairs.append((token.strip(), role.strip()))
    return pairs
