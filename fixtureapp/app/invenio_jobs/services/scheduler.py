"""RunScheduler: a Celery beat scheduler whose schedule lives in the database.

Like invenio-jobs' (invenio_jobs/services/scheduler.py) it keeps no schedule
file and reads its entries from PostgreSQL at start and on every sync, so a
jobs beat that cannot reach the database fails as the real one does. The
fixture defines no jobs: the schedule is always empty.
"""

import psycopg2
from celery.beat import Scheduler

from invenio_app import config


class RunScheduler(Scheduler):
    """Beat scheduler for jobs defined in the database (none here)."""

    entries = {}

    @property
    def schedule(self):
        """Return the entries read from the database."""
        return self.entries

    def setup_schedule(self):
        """Read the schedule once at start."""
        self.sync()

    def sync(self):
        """Read the active, scheduled jobs: a query the database must answer."""
        cfg = config.from_env()
        dsn = config.database_dsn(cfg["SQLALCHEMY_DATABASE_URI"])
        with psycopg2.connect(dsn, connect_timeout=10) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
        conn.close()
        self.entries = {}
