"""Version 5: alerts: webhooks, conditions, delivery outbox.

The DDL is version 5's function in :mod:`iotcard.collector._schema`, the one the hand-kept migrations ran, so
databases made before Alembic and fresh ones have the same tables."""

from __future__ import annotations

from alembic import op

from iotcard.collector._schema import _upgrade_v5

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _upgrade_v5(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("the collector's schema only moves forward: restore a backup to go back")
