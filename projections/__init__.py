"""Read models of the ledger (balances, bills, payments, collection and arrears dashboards, governorates).

Tables live in projections/tables.py (prefixed `rm_`, in the ledger's own database), event handling in
projections/apply.py, the runner that catches up, follows and rebuilds in projections/runner.py, and the queries
the API serves in projections/queries.py. Everything here is derived from the ledger's events and can be rebuilt
from them; money is `Decimal` in new pounds (`SYP`). Imports `ledger`, never `api` or Flask.
"""
