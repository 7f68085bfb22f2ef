"""A broken release: its migration fails half-way (tests of failed upgrades only).

Revision ID: f1a7c0de0003
"""

import sqlalchemy as sa
from alembic import op

revision = "f1a7c0de0003"
down_revision = "f1a7c0de0002"
branch_labels = ()
depends_on = None


def upgrade():
    """Add a column, then fail: PostgreSQL rolls both back."""
    op.add_column("fixture_records", sa.Column("broken", sa.Text))
    op.execute("SELECT fixture_no_such_function()")


def downgrade():
    """Nothing to undo: upgrade never commits."""
