"""The API's blueprints, one per area of the contract; `ALL` is what `create_app` registers."""

from __future__ import annotations

from api.blueprints import bills, governorates, ops, payments, settlements, subscribers

ALL = (subscribers.blp, bills.blp, payments.blp, settlements.blp, governorates.blp, ops.blp)
