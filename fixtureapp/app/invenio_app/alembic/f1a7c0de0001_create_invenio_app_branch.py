"""Create the invenio_app branch: the tables of schema 1.

Revision ID: f1a7c0de0001
"""

import sqlalchemy as sa
from alembic import op

from invenio_app import models

revision = "f1a7c0de0001"
down_revision = None
branch_labels = ("invenio_app",)
depends_on = None


def upgrade():
    """Create the tables of schema 1."""
    models.define(sa.MetaData(), schema=1).create_all(op.get_bind())


def downgrade():
    """Drop them."""
    models.define(sa.MetaData(), schema=1).drop_all(op.get_bind())
