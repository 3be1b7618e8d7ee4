"""Run every benchmark scenario on PostgreSQL and SQLite; print a table and write benchmarks/results.json.

Each scenario's rate is compared with baselines measured in the same run on the same database, because absolute
numbers on a shared two-core machine move by a factor of two from one minute to the next. `--scale N` multiplies
every size. The targets of the performance issue are printed beside each ratio; nothing here asserts them.
Results: `{"scenario": {"rate": R, "unit": "...", "baselines": {"name": R}, "ratios": {"name": X}}}`.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from benchmarks import baselines, billing_parallel, extra, ledger_scenarios, memory, naive, scaling
from benchmarks.databases import scratch

RESULTS = Path(__file__).parent / "results.json"
log = logging.getLogger(__name__)


def _scenario(rate: float, unit: str, **baseline_rates: float) -> dict[str, Any]:
    return {
        "rate": round(rate, 3),
        "unit": unit,
        "baselines": {name: round(value, 3) for name, value in baseline_rates.items()},
        "ratios": {name: round(rate / value, 4) for name, value in baseline_rates.items() if value},
    }


def run_backend(backend: str, scale: int) -> dict[str, dict[str, Any]]:
    n = 2000 * scale  # payments: enough that thread start-up and the first statements do not count
    results: dict[str, dict[str, Any]] = {}
    with scratch(backend) as db:
        raw1 = baselines.raw_single_inserts(db, n)
        raw8 = baselines.raw_single_inserts(db, n, clients=8)
        batch = baselines.raw_batch_inserts(db, 20_000 * scale)
        read = baselines.raw_read_decode(db, "raw_batch")
        crud = baselines.crud_payments(db, n // 2)
        naive_rate = naive.naive_payments(db, n // 2)
        pay1 = ledger_scenarios.payments(db, n, clients=1)
        pay8 = ledger_scenarios.payments(db, n, clients=8)
        results["payments_1_client"] = _scenario(
            pay1, "payments/s", raw_insert_1_client=raw1, naive_library=naive_rate, crud_update=crud
        )
        results["payments_8_clients"] = _scenario(
            pay8, "payments/s", raw_insert_8_clients=raw8, naive_library=naive_rate, crud_update=crud
        )
        bill_rate, _ = ledger_scenarios.billing_run(db, 10_000 * scale)
        results["billing_run"] = _scenario(bill_rate, "bills/s", raw_batch_insert_1000=batch)
        if backend == "postgres":
            parallel = billing_parallel.billing_per_governorate(db, 5000 * scale)
            results["billing_run_2_governorates_at_once"] = _scenario(
                parallel, "bills/s", raw_batch_insert_1000=batch, one_process=bill_rate
            )
        replay = ledger_scenarios.replay(db, 10_000)
        results["replay_10000_events_no_snapshot"] = _scenario(replay["without_snapshot_ms"], "ms")
        results["replay_10000_events_from_snapshot"] = _scenario(replay["from_snapshot_ms"], "ms")
        results.update(extra.scenarios(db, scale, read_decode=read, raw1=raw1))
    if backend == "postgres":
        results.update(flat_costs(scale))
    return {f"{backend}.{name}": value for name, value in results.items()}


def flat_costs(scale: int) -> dict[str, dict[str, Any]]:
    """Load and balance costs as history grows, and peak memory of billing and rebuild at two sizes (PostgreSQL).

    Sizes at --scale 1: balance at 10,000 and 1,000,000 subscribers; memory at 1,000 and 10,000 subscribers
    (--scale 10 gives the issue's 10,000 and 100,000).
    """
    results: dict[str, dict[str, Any]] = {}
    with scratch("postgres") as db:
        loads = scaling.load_cost(db)
    results["load_10_events"] = _scenario(loads["load_10_events_ms"], "ms")
    results["load_1000_events"] = _scenario(
        loads["load_1000_events_ms"], "ms", load_10_events=loads["load_10_events_ms"]
    )
    with scratch("postgres") as db:
        balances = scaling.balance_cost(db, 10_000, 1_000_000)
    for source in ("from_events", "read_model"):
        small_ms, large_ms = balances[f"balance_{source}_10000_ms"], balances[f"balance_{source}_1000000_ms"]
        results[f"balance_{source}_10000_subscribers"] = _scenario(small_ms, "ms")
        results[f"balance_{source}_1000000_subscribers"] = _scenario(large_ms, "ms", at_10000=small_ms)
    small, large = 1000 * scale, 10_000 * scale
    for name, job in memory.peak_rss("postgres", (small, large)).items():
        results[f"peak_rss_{name}"] = _scenario(job["peak_rss_mib"], "MiB")
    return results


def print_table(results: dict[str, dict[str, Any]]) -> None:
    print(f"{'scenario':<48} {'rate':>12} {'unit':<12} ratios")
    for name, row in results.items():
        ratios = ", ".join(f"{k}={v:.2f}" for k, v in row["ratios"].items())
        print(f"{name:<48} {row['rate']:>12.1f} {row['unit']:<12} {ratios}")


def main(scale: int = 1, backends: tuple[str, ...] = ("postgres", "sqlite")) -> dict[str, dict[str, Any]]:
    logging.basicConfig(level=logging.WARNING)
    results: dict[str, dict[str, Any]] = {}
    for backend in backends:
        results.update(run_backend(backend, scale))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"\nwritten to {RESULTS}")
    return results


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
