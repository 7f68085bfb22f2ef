"""Celery tasks of the fixture application."""

import json
import socket
import time

import redis

from . import config
from .celery import celery

BEAT_KEY = "fixture:beat:"
BEAT_TTL = 60


def redis_client(cfg=None):
    """Return a Redis client for CACHE_REDIS_URL.

    InvenioRDM's Redis clients (flask-caching, invenio-cache) set no
    timeouts; the fixture bounds them at 30 s, as it does PostgreSQL's
    connect (views.connect), so a busy services host slows a request but
    does not fail it where InvenioRDM would have waited."""
    cfg = config.from_env() if cfg is None else cfg
    url = cfg.get("CACHE_REDIS_URL")
    if not url:
        raise redis.ConnectionError("CACHE_REDIS_URL is not set")
    return redis.Redis.from_url(str(url), socket_timeout=30, socket_connect_timeout=30)


@celery.task(name="fixture.echo")
def echo(payload):
    """Return payload with the name of the worker's host."""
    return {"payload": payload, "worker": socket.gethostname()}


@celery.task(name="fixture.heartbeat")
def heartbeat(beat_host):
    """Record in Redis that Celery beat on beat_host is alive."""
    value = json.dumps({"time": time.time(), "worker": socket.gethostname()})
    redis_client().set(BEAT_KEY + beat_host, value, ex=BEAT_TTL)
    return beat_host
