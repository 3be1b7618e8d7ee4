"""The auditors' commands, as click command objects for the `ledger` group: `replay`, `verify` and `digest`.

`ledger replay NO [--as-of TIME | --as-of-position N]` prints a subscriber's statement as it stood then, replayed
from events. `ledger verify [--digest HEX@POSITION]` checks the hash chain, every checkpoint, the auditor's digest
and the invariants, with a progress bar on stderr; it exits 1 on any fault. `ledger digest` seals the chain and
prints the `HEX@POSITION` an auditor keeps. Each reads LEDGER_DATABASE_URL. Money is shown in new pounds (SYP).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, time
from typing import Any

import click

from ledger import LedgerApplication, LedgerError, audit
from ledger.history import account_as_of


def open_ledger() -> LedgerApplication:
    return LedgerApplication()


def parse_instant(text: str) -> datetime:
    """ISO 8601; a bare date means the start of that day, and a time without a zone is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time such as 2026-03-01T12:00:00Z.") from None
    if len(text.strip()) == 10:
        moment = datetime.combine(moment.date(), time(0))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _table(headers: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[str]:
    cells = [tuple(headers)] + [tuple("" if v is None else str(v) for v in row) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return ["  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]


def render_account(account: dict[str, Any]) -> str:
    """A readable statement of a replayed account: who, as of when, bills, payments and the balance."""
    replayed, balance = account["replayed"], account["balance"]
    when = replayed["as_of"] or (
        f"position {replayed['as_of_position']}" if replayed["as_of_position"] is not None else "now"
    )
    lines = [
        f"Subscriber {account['subscriber_no']}: {account['name']} ({account['governorate']}, "
        f"{account['category']}), meter {account['meter_no']}, last reading {account['last_reading_kwh']} kWh",
        f"As of {when}: version {replayed['version']}, last event at position {replayed['position']} recorded "
        f"{replayed['recorded_at']}; overdue judged on {replayed['today']}",
        "",
        "Bills:",
        *_table(
            ("bill", "cycle", "kwh", "amount", "adjusted", "paid", "outstanding", "status", "due"),
            [
                (
                    b["bill_id"],
                    b["cycle"],
                    b["kwh"],
                    b["amount"],
                    b["adjusted"],
                    b["paid"],
                    b["outstanding"],
                    b["status"],
                    b["due_date"],
                )
                for b in account["bills"]
            ],
        ),
        "",
        "Payments:",
        *_table(
            ("reference", "bank", "bill", "amount", "channel", "paid at", "status", "settlement"),
            [
                (
                    p["payment_ref"],
                    p["bank"],
                    p["bill_id"],
                    p["amount"],
                    p["channel"],
                    p["paid_at"],
                    p["status"],
                    p["settlement_ref"],
                )
                for p in account["payments"]
            ],
        ),
        "",
        f"Balance in {balance['unit']} (new Syrian pounds):",
        *_table(
            ("billed", "adjusted", "paid", "cleared", "outstanding", "overdue"),
            [
                (
                    balance["billed"],
                    balance["adjusted"],
                    balance["paid"],
                    balance["cleared"],
                    balance["outstanding"],
                    balance["overdue"],
                )
            ],
        ),
    ]
    return "\n".join(lines)


@click.command("replay")
@click.argument("subscriber_no")
@click.option("--as-of", "as_of", metavar="TIME", help="ISO 8601 instant, e.g. 2026-03-01T12:00:00Z (UTC if no zone).")
@click.option("--as-of-position", "as_of_position", type=int, metavar="N", help="Event position (notification id).")
def replay(subscriber_no: str, as_of: str | None, as_of_position: int | None) -> None:
    """A subscriber's statement as it stood at TIME or at event position N (now if neither), from events."""
    if as_of is not None and as_of_position is not None:
        raise click.UsageError("Give --as-of or --as-of-position, not both.")
    moment = parse_instant(as_of) if as_of is not None else None
    app = open_ledger()
    try:
        account = account_as_of(app, subscriber_no, as_of=moment, as_of_position=as_of_position)
    except LedgerError as error:
        raise click.ClickException(error.detail) from None
    finally:
        app.close()
    click.echo(render_account(account))


def render_report(report: dict[str, Any]) -> str:
    verdict = "OK" if report["ok"] else f"FAILED: {report['fault_count']} fault(s)"
    lines = [
        f"Verification {verdict}",
        f"  {report['events']} events up to position {report['position']}, chain {report['algorithm']}",
        f"  digest {report['digest']}@{report['position']}",
        f"  {report['checkpoints']} checkpoints verified; sealed up to {report['sealed_position']}, "
        f"{report['unsealed_events']} events not sealed yet",
        "  invariants over " + ", ".join(f"{v} {k}" for k, v in report["invariants"].items()),
    ]
    if report["anchor"]:
        anchor = report["anchor"]
        lines.append(f"  supplied digest at {anchor['position']}: {'matches' if anchor['ok'] else 'DOES NOT MATCH'}")
    if report["first_bad_position"] is not None:
        lines.append(f"  first bad position: {report['first_bad_position']}")
    lines += [f"  fault at {f['position']}: {f['kind']}: {f['detail']}" for f in report["faults"]]
    return "\n".join(lines)


def verify_command(extra_checks: Iterable[audit.Check] = ()) -> click.Command:
    """Build `verify`; pass extra checks (such as projections against replay) to have them run too."""
    checks = tuple(extra_checks)

    @click.command("verify")
    @click.option("--digest", metavar="HEX@POSITION", help="A digest kept from `ledger digest` or /v1/audit/digest.")
    @click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
    @click.option("--progress/--no-progress", default=True, help="Show a progress bar on stderr.")
    @click.option(
        "--workers",
        default=2,
        show_default=True,
        type=click.IntRange(1, 64),
        help="2 or more: the invariant pass of a large ledger is split by subscriber over this many processes, "
        "beside the chain walk.",
    )
    @click.pass_context
    def command(ctx: click.Context, digest: str | None, as_json: bool, progress: bool, workers: int) -> None:
        """Verify the hash chain, its checkpoints, the given digest and the invariants; exit 1 on any fault."""
        app = open_ledger()
        try:
            report = audit.verify(app, digest=digest, progress=progress, extra_checks=checks, workers=workers)
        except audit.InvalidDigest as error:
            raise click.BadParameter(error.detail, param_hint="--digest") from None
        finally:
            app.close()
        click.echo(json.dumps(report, indent=2) if as_json else render_report(report))
        ctx.exit(0 if report["ok"] else 1)

    return command


verify = verify_command()


@click.command("digest")
def digest() -> None:
    """Seal the chain and print its digest as HEX@POSITION, to keep outside the database."""
    app = open_ledger()
    try:
        current = audit.current_digest(app)
    finally:
        app.close()
    click.echo(f"{current['digest']}@{current['position']}")
