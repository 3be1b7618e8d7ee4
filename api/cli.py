"""The `ledger` command. Every subcommand reads LEDGER_DATABASE_URL; exit status 0 on success.

Subcommands here: `serve` (the API under gunicorn), `demo` (seed a demo ledger), `bill-run` (bill a cycle).
Other modules add theirs to `main`.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any

import click

from ledger.config import database_url
from ledger.errors import LedgerError
from ledger.history import jsonable


@click.group()
def main() -> None:
    """The electricity e-payment ledger."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--demo-banner", is_flag=True, help="Print the demo tokens and a first curl before serving.")
def serve(host: str, port: int, workers: int, demo_banner: bool) -> None:
    """Serve the HTTP API with gunicorn."""
    from api.serve import serve as run

    if demo_banner:
        click.echo(banner(host, port, _demo_subscriber()))
    run(host, port, workers)


def _demo_subscriber() -> str | None:
    from api.demo import first_subscriber
    from ledger import LedgerApplication

    app = LedgerApplication()
    try:
        return first_subscriber(app)
    finally:
        app.close()


def banner(host: str, port: int, subscriber_no: str | None = None) -> str:
    from api.config import demo_tokens

    base = f"http://{host}:{port}"
    tokens = demo_tokens()
    lines = [
        "",
        "Electricity e-payment ledger: demo API",
        f"  database: {database_url()}",
        f"  docs:     {base}/docs",
        "  tokens (demo only; LEDGER_TOKENS):",
    ]
    lines += [f"    {role:<10} {token}" for token, role in tokens]
    staff = next((token for token, role in tokens if role == "staff"), "TOKEN")
    lines += [
        "  try:",
        f"    curl -s -H 'Authorization: Bearer {staff}' {base}/v1/governorates",
    ]
    if subscriber_no is not None:
        lines.append(f"    curl -s -H 'Authorization: Bearer {staff}' {base}/v1/subscribers/{subscriber_no}/bills")
    return "\n".join([*lines, ""])


@main.command()
@click.option("--subscribers", default=2000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--cycles", default=3, show_default=True, type=click.IntRange(1, 36))
@click.option("--seed", default=1, show_default=True, type=int, help="Random seed: the same seed, the same demo.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processes seeding at once, on PostgreSQL (SQLite seeds in one). The ledger is the same for any number.",
)
@click.option(
    "--leave-last-cycle-unbilled",
    is_flag=True,
    help="Submit the last cycle's readings but leave its bills to `ledger bill-run` (as before a billing run).",
)
def demo(subscribers: int, cycles: int, seed: int, workers: int, leave_last_cycle_unbilled: bool) -> None:
    """Seed a realistic demo ledger (the only writer while it runs)."""
    from api.demo import demo_ledger
    from api.demo import seed as seed_demo

    app = demo_ledger(database_url())
    try:
        result = seed_demo(app, subscribers, cycles, seed, workers=workers, bill_last=not leave_last_cycle_unbilled)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    finally:
        app.close()
    if result is None:
        click.echo("The demo subscribers are already there; nothing to do (remove the database to seed afresh).")
        return
    click.echo(
        f"Seeded {result.subscribers} subscribers, {result.bills} bills, {result.payments} payments, "
        f"{result.settlements} settlements, {result.reversals} reversals in {result.seconds:.1f} s."
    )


@main.command("bill-run")
@click.option("--cycle", required=True, help="The cycle to bill, e.g. 2026-C5.")
@click.option("--governorate", default=None, help="A governorate code, e.g. SY-DI; all when omitted.")
def bill_run(cycle: str, governorate: str | None) -> None:
    """Bill every due subscriber for a cycle; safe to kill and run again. Prints the report as JSON."""
    from ledger import LedgerApplication

    app = LedgerApplication()
    try:
        report = app.billing_run(cycle, governorate, progress=True)
    except LedgerError as error:
        raise click.ClickException(error.detail) from None
    finally:
        app.close()
    click.echo(json.dumps(report, indent=2, ensure_ascii=False, default=str))


@main.command("import-settlement")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--bank", required=True, type=click.Choice(["CBS", "REB", "HUB"]), help="The bank whose file it is.")
def import_settlement(file: Any, bank: str) -> None:
    """Apply a bank's settlement file (CSV: settlement_ref,business_date,payment_ref,amount); print the report.

    Bad rows are reported with their line numbers and left out; the good rows are applied as one settlement. The same
    file again changes nothing. Exit status 1 when no row could be applied.
    """
    from ledger import LedgerApplication
    from ledger.actors import acting_as
    from ledger.settlement_file import import_settlement as apply_file
    from projections.clearing import unsettled_payments
    from projections.fresh import ReadSide

    app = LedgerApplication()
    try:
        with acting_as(f"cli:import-settlement:{bank}", "file"):
            report = apply_file(app, bank, file.read())
        if report["applied"]:
            side = ReadSide(app)
            side.ensure_fresh()
            report["missing"] = unsettled_payments(side.engine, bank, date.fromisoformat(str(report["business_date"])))
            side.close()
    except LedgerError as error:
        raise click.ClickException(error.detail) from None
    finally:
        app.close()
    click.echo(json.dumps(jsonable(report), indent=2, ensure_ascii=False))
    if not report["applied"]:
        sys.exit(1)


@main.command()
@click.option("--scale", default=1, show_default=True, type=click.IntRange(1, 1000), help="Multiply every size.")
@click.option(
    "--backend",
    "backends",
    multiple=True,
    type=click.Choice(["postgres", "sqlite"]),
    help="Run on these only (default both; PostgreSQL from LEDGER_BENCH_DATABASE_URL or the test URL).",
)
def bench(scale: int, backends: tuple[str, ...]) -> None:
    """Run the benchmarks; print rates, same-run baselines and ratios; write benchmarks/results.json."""
    from benchmarks.run import main as run_benchmarks

    run_benchmarks(scale, backends or ("postgres", "sqlite"))


def _register_commands() -> None:
    """Commands that live beside the modules they drive."""
    from api.audit_cli import digest, replay, verify_command
    from projections.cli import project
    from projections.verify import check_projections

    for command in (replay, verify_command([check_projections]), digest, project):
        main.add_command(command)


_register_commands()
