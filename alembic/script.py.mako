"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Table names come from migration_options(): never hard-code "faroe_storage" or "faroe_users".
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
from faroe_flask.sql.migrate import migration_options

revision: str = ${repr(up_revision)}
down_revision: str | Sequence[str] | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
    options = migration_options(op.get_context().config)
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    options = migration_options(op.get_context().config)
    ${downgrades if downgrades else "pass"}
