"""The Celery application: celery --app invenio_app.celery (attribute celery).

Broker and result backend come from INVENIO_CELERY_BROKER_URL (or
INVENIO_BROKER_URL) and INVENIO_CELERY_RESULT_BACKEND. The task modules are
the invenio_celery.tasks entry points, as invenio-celery loads them. Beat
schedules one heartbeat task that carries the name of the host beat runs on.
"""

import socket

from celery import Celery

from . import config, entrypoints

BEAT_INTERVAL = 5.0


def create_celery(environ=None, overrides=None):
    """Return the Celery application configured from environ."""
    cfg = config.from_env(environ)
    app = Celery("invenio_app", include=entrypoints.modules(entrypoints.TASKS))
    app.conf.update(
        broker_url=config.broker_url(cfg),
        result_backend=cfg.get("CELERY_RESULT_BACKEND"),
        result_expires=3600,
        task_default_queue="celery",
        broker_connection_timeout=5,
        beat_schedule={
            "fixture-heartbeat": {
                "task": "fixture.heartbeat",
                "schedule": BEAT_INTERVAL,
                "args": (socket.gethostname(),),
            },
        },
    )
    app.conf.update(overrides or {})
    return app


celery = create_celery()
