"""Application factories of the UI and the REST API applications.

As invenio-base's factories do, they register the blueprints that the
invenio_base.blueprints (UI) and invenio_base.api_blueprints (REST API)
entry points name; an entry point's object is a blueprint or a function
that takes the application and returns one.
"""

import socket
from importlib import metadata

from flask import Blueprint, Flask, Request, request
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config, entrypoints

HOST_HEADER = "X-Fixture-Host"
RELEASE_HEADER = "X-Fixture-Release"

# The release this process runs, read once at start-up: a process keeps
# the code it loaded until it restarts, whatever an upgrade unpacked since.
try:
    RELEASE = metadata.version("invenio_app")
except metadata.PackageNotFoundError:
    RELEASE = ""


def ping():
    """Answer the load balancers' health check, touching no service (as Invenio does)."""
    return "OK"


def create_app(kind, environ=None, overrides=None):
    """Return the Flask application of kind "ui" or "api" configured from environ."""
    cfg = config.from_env(environ)
    cfg.update(overrides or {})
    kwargs = {}
    if cfg.get("INSTANCE_PATH"):
        kwargs["instance_path"] = str(cfg["INSTANCE_PATH"])
    if cfg.get("STATIC_FOLDER"):
        kwargs["static_folder"] = str(cfg["STATIC_FOLDER"])
    app = Flask("invenio_app", **kwargs)
    app.config.update(cfg)
    app.config["FIXTURE_APP"] = kind
    _trust(app, config.trusted_hosts(cfg))
    _proxy(app, cfg)
    app.add_url_rule("/ping", "ping", ping, methods=["GET", "HEAD", "OPTIONS"])
    app.after_request(_name_host)
    return app


def _trust(app, hosts):
    """Refuse requests whose Host is not trusted with 400, as Invenio does."""
    if hosts is None:
        return
    app.request_class = type("TrustedRequest", (Request,), {"trusted_hosts": hosts})

    @app.before_request
    def _check_host():
        request.host  # raises SecurityError (400 Bad Request) for other hosts


def _proxy(app, cfg):
    """Trust X-Forwarded-* from as many proxies as PROXYFIX_CONFIG or WSGI_PROXIES say."""
    fix = cfg.get("PROXYFIX_CONFIG")
    if isinstance(fix, dict):
        app.wsgi_app = ProxyFix(app.wsgi_app, **fix)
    elif isinstance(cfg.get("WSGI_PROXIES"), int):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=cfg["WSGI_PROXIES"])


def _name_host(response):
    """Tell which host and release answered, so tests behind a load balancer can count."""
    response.headers[HOST_HEADER] = socket.gethostname()
    response.headers[RELEASE_HEADER] = RELEASE
    return response


def register_blueprints(app, group):
    """Register the blueprints of an entry point group, as invenio-base does."""
    for obj in entrypoints.load_all(group):
        app.register_blueprint(obj if isinstance(obj, Blueprint) else obj(app))


def create_ui(environ=None, overrides=None):
    """Return the UI application."""
    app = create_app("ui", environ, overrides)
    register_blueprints(app, entrypoints.BLUEPRINTS)
    return app


def create_api(environ=None, overrides=None):
    """Return the REST API application (uWSGI mounts it at /api)."""
    app = create_app("api", environ, overrides)
    register_blueprints(app, entrypoints.API_BLUEPRINTS)
    return app


def create_cli_app(environ=None, overrides=None):
    """Return the application the invenio command runs its commands in."""
    return create_app("cli", environ, overrides)
