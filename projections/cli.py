"""`ledger project [--once] [--rebuild [--workers N]]`: catch the read models up with the ledger, then follow it.

Reads `LEDGER_DATABASE_URL` (default `sqlite:///ledger.db`); the read models live in that same database. Only one
runner writes at a time (projections/locking.py): a second one exits with status 75 and says who holds the lock,
or, with `--wait`, stands by until the lock is free (useful for a standby `projector` process). SIGTERM and SIGINT
stop a following runner after its current batch. Also runnable as `python -m projections.cli`.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

import click

from ledger import LedgerApplication
from projections.locking import RunnerBusy
from projections.runner import BATCH_SIZE, ProjectionRunner

log = logging.getLogger("projections")
EXIT_BUSY = 75  # EX_TEMPFAIL: try again later


class StopFlag:
    """Set by SIGTERM / SIGINT; the runner checks it between batches."""

    def __init__(self) -> None:
        self.stopped = False
        self._previous: dict[int, Any] = {}

    def __call__(self) -> bool:
        return self.stopped

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach the main thread only; an embedding caller stops us some other way
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._stop)

    def uninstall(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _stop(self, signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping after the current batch", signum)
        self.stopped = True


@click.command("project")
@click.option("--once", is_flag=True, help="Catch up and exit instead of following new events.")
@click.option(
    "--rebuild",
    is_flag=True,
    help="Replay every event into fresh read models (on PostgreSQL built beside the live ones, then swapped in).",
)
@click.option("--wait", is_flag=True, help="If another runner holds the lock, wait for it instead of exiting.")
@click.option(
    "--interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.01),
    help="Seconds between polls for new events when following.",
)
@click.option(
    "--batch-size",
    default=BATCH_SIZE,
    show_default=True,
    type=click.IntRange(min=1, max=10000),
    help="Events applied per transaction.",
)
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="With --rebuild on PostgreSQL: a large ledger is rebuilt by this many processes, split by aggregate.",
)
def project(once: bool, rebuild: bool, wait: bool, interval: float, batch_size: int, workers: int) -> None:
    """Catch the read models up with the ledger and follow it (or stop when caught up, with --once)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = StopFlag()
    stop.install()
    app = LedgerApplication()
    runner = ProjectionRunner(app, batch_size=batch_size)
    try:
        with runner.locked(wait=wait, interval=interval):
            if rebuild:
                runner.rebuild(progress=True, workers=workers)
            else:
                runner.catch_up(progress=once and sys.stderr.isatty(), should_stop=stop)
            if not once:
                log.info("following the ledger from notification %d", runner.position())
                runner.follow(interval=interval, should_stop=stop)
    except RunnerBusy as busy:
        click.echo(f"ledger project: {busy}; not starting a second one (use --wait to stand by).", err=True)
        sys.exit(EXIT_BUSY)
    finally:
        stop.uninstall()
        runner.close()
        app.close()


if __name__ == "__main__":
    project()
