"""Configuration from INVENIO_* environment variables, read as Invenio reads them."""

import ast
import os
import re
import warnings

PREFIX = "INVENIO_"


def literal(value):
    """Return value as the Python literal it spells, or unchanged if it spells none.

    invenio-config does the same, so lists such as TRUSTED_HOSTS and
    numbers such as MAIL_PORT arrive with their Python types.
    """
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return value


def from_env(environ=None):
    """Return the INVENIO_* variables of environ without their prefix."""
    environ = os.environ if environ is None else environ
    return {
        key[len(PREFIX):]: literal(value)
        for key, value in environ.items()
        if key.startswith(PREFIX) and len(key) > len(PREFIX)
    }


_DRIVER = re.compile(r"^postgresql\+[A-Za-z0-9_]+://")


def database_dsn(uri):
    """Turn an SQLAlchemy URL (postgresql+psycopg2://...) into a libpq URI."""
    if not uri:
        raise ValueError("SQLALCHEMY_DATABASE_URI is not set")
    return _DRIVER.sub("postgresql://", str(uri), count=1)


def trusted_hosts(cfg):
    """Return the host names the application answers to, or None for any.

    TRUSTED_HOSTS is Flask 3's name. APP_ALLOWED_HOSTS, the older Invenio
    one, still wins when set, with a deprecation warning, as invenio-app
    (v13's ext.py) overwrites TRUSTED_HOSTS with it.
    """
    hosts = cfg.get("TRUSTED_HOSTS")
    if cfg.get("APP_ALLOWED_HOSTS") is not None:
        warnings.warn("APP_ALLOWED_HOSTS is deprecated; set TRUSTED_HOSTS", DeprecationWarning, stacklevel=2)
        hosts = cfg["APP_ALLOWED_HOSTS"]
    if hosts is None:
        return None
    if isinstance(hosts, str):
        hosts = [hosts]
    return [str(h) for h in hosts]


def search_hosts(cfg):
    """Return SEARCH_HOSTS as (host, port) pairs (a list of dicts, as invenio-search reads it)."""
    hosts = cfg.get("SEARCH_HOSTS") or []
    if isinstance(hosts, (dict, str)):
        hosts = [hosts]
    out = []
    for h in hosts:
        if isinstance(h, dict):
            out.append((str(h.get("host", "localhost")), int(h.get("port", 9200))))
        else:
            host, _, port = str(h).rpartition(":") if ":" in str(h) else (str(h), "", "9200")
            out.append((host, int(port or 9200)))
    return out


def broker_url(cfg):
    """Return the Celery broker URL (CELERY_BROKER_URL, else BROKER_URL)."""
    return cfg.get("CELERY_BROKER_URL") or cfg.get("BROKER_URL")
