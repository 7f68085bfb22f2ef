"""Routes of the REST API application that exercise a deployment's wiring.

Each route touches exactly one service, so a failing check names it:
/fixture/records PostgreSQL, /fixture/tasks RabbitMQ (and the worker) and the
Redis result backend, /fixture/beat Redis and Celery beat, /fixture/files the
shared storage. A service that cannot be reached gives 503 with a reason.
"""

import json
import os
import re
import socket
import tempfile

import psycopg2
import redis
from flask import Blueprint, Response, abort, current_app, jsonify, request
from kombu.exceptions import OperationalError as BrokerError

from . import config, tasks
from .celery import celery

blueprint = Blueprint("fixture", __name__, url_prefix="/fixture")

SCHEMA = """
CREATE TABLE IF NOT EXISTS fixture_records (
    id serial PRIMARY KEY,
    title text NOT NULL,
    host text NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
)
"""

# A lock number of our own, so that two hosts creating the table at once wait.
SCHEMA_LOCK = 7316

FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def unavailable(service, err):
    """Return a 503 answer that names the service and the error."""
    resp = jsonify({"error": "%s: %s" % (service, err), "service": service})
    resp.status_code = 503
    return resp


@blueprint.errorhandler(psycopg2.Error)
def _database_error(err):
    return unavailable("postgresql", str(err).strip())


@blueprint.errorhandler(redis.RedisError)
def _redis_error(err):
    return unavailable("redis", err)


@blueprint.errorhandler(BrokerError)
def _broker_error(err):
    return unavailable("broker", err)


@blueprint.route("/info")
def info():
    """Tell which host and application answered and where it is mounted."""
    return jsonify({
        "host": socket.gethostname(),
        "app": current_app.config.get("FIXTURE_APP"),
        "script_root": request.script_root,
        "url_root": request.url_root,
    })


def connect():
    """Open a connection to SQLALCHEMY_DATABASE_URI with the schema in place."""
    dsn = config.database_dsn(current_app.config.get("SQLALCHEMY_DATABASE_URI"))
    conn = psycopg2.connect(dsn, connect_timeout=5, application_name="invenio-fixture")
    with conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        cur.execute(SCHEMA)
    return conn


def record(row):
    """Return a record row as JSON data."""
    return {"id": row[0], "title": row[1], "host": row[2], "created": row[3].isoformat()}


@blueprint.route("/records", methods=["POST"])
def create_record():
    """Write one record to PostgreSQL and return it as read back."""
    data = request.get_json(silent=True) or {}
    title = str(data.get("title", ""))[:200]
    conn = connect()
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "INSERT INTO fixture_records (title, host) VALUES (%s, %s)"
                " RETURNING id, title, host, created",
                (title, socket.gethostname()),
            )
            row = cur.fetchone()
    finally:
        conn.close()
    return jsonify(record(row)), 201


@blueprint.route("/records", methods=["GET"])
def list_records():
    """Return how many records there are and the last ten."""
    conn = connect()
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM fixture_records")
            count = cur.fetchone()[0]
            cur.execute(
                "SELECT id, title, host, created FROM fixture_records ORDER BY id DESC LIMIT 10"
            )
            rows = cur.fetchall()
    finally:
        conn.close()
    return jsonify({"count": count, "records": [record(r) for r in rows]})


@blueprint.route("/records/<int:rid>", methods=["GET"])
def get_record(rid):
    """Return one record, or 404."""
    conn = connect()
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT id, title, host, created FROM fixture_records WHERE id = %s", (rid,))
            row = cur.fetchone()
    finally:
        conn.close()
    if row is None:
        abort(404)
    return jsonify(record(row))


@blueprint.route("/tasks", methods=["POST"])
def send_task():
    """Send the echo task through the broker; answer with its id."""
    data = request.get_json(silent=True)
    result = tasks.echo.apply_async(args=(data,), retry=False)
    return jsonify({"id": result.id}), 202


@blueprint.route("/tasks/<task_id>", methods=["GET"])
def task_result(task_id):
    """Return a task's state and, once it succeeded, its result from the backend."""
    result = celery.AsyncResult(task_id)
    state = result.state
    body = {"id": task_id, "state": state, "result": None}
    if state == "SUCCESS":
        body["result"] = result.result
    elif state == "FAILURE":
        body["result"] = repr(result.result)
    return jsonify(body)


@blueprint.route("/beat", methods=["GET"])
def beat():
    """Return the hosts whose Celery beat sent a heartbeat in the last minute."""
    client = tasks.redis_client(current_app.config)
    hosts = {}
    for key in sorted(client.scan_iter(match=tasks.BEAT_KEY + "*", count=100)):
        key = key.decode() if isinstance(key, bytes) else key
        value = client.get(key)
        if value is not None:
            hosts[key[len(tasks.BEAT_KEY):]] = json.loads(value)
    return jsonify({"hosts": hosts, "count": len(hosts)})


def file_path(name):
    """Return the path of a file on the shared storage, or abort."""
    root = config.files_root(current_app.config)
    if not root:
        abort(Response("no shared storage configured (INVENIO_FILES_LOCATION_URI)\n", 404))
    if not FILE_NAME.match(name):
        abort(Response("bad file name\n", 400))
    return root, os.path.join(root, "fixture", name)


@blueprint.route("/files/<name>", methods=["POST", "PUT"])
def write_file(name):
    """Write the request body to the shared storage (atomically)."""
    root, path = file_path(name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    body = request.get_data()
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return jsonify({"name": name, "size": len(body), "host": socket.gethostname()}), 201


@blueprint.route("/files/<name>", methods=["GET"])
def read_file(name):
    """Return a file from the shared storage, or 404."""
    _, path = file_path(name)
    try:
        with open(path, "rb") as f:
            body = f.read()
    except FileNotFoundError:
        abort(404)
    return Response(body, mimetype="application/octet-stream")
