"""The API's blueprints, one per area of the contract; `ALL` is what `create_app` registers."""

from __future__ import annotations

from api.blueprints import bills, governorates, ops, payments, read_models, settlements, subscribers

ALL = (read_models.blp, subscribers.blp, bills.blp, payments.blp, settlements.blp, governorates.blp, ops.blp)
