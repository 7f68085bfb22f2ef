"""Routes of the REST API application that exercise a deployment's wiring.

Each route touches exactly one service, so a failing check names it:
/fixture/records PostgreSQL, /fixture/tasks RabbitMQ (and the worker) and the
Redis result backend, /fixture/beat Redis and Celery beat, /fixture/files the
files location the database names (as invenio-files-rest stores files),
/fixture/login the accounts ``invenio users create`` made. A service that
cannot be reached gives 503 with a reason. The schema is the set-up's
(``invenio db create``, ``invenio alembic upgrade``): no route creates a table.

The blueprint reaches the application through the invenio_base.api_blueprints
entry point (create_blueprint), the UI's through invenio_base.blueprints.
"""

import hashlib
import json
import os
import re
import socket
import tempfile
import uuid

import psycopg2
import redis
from flask import Blueprint, Response, abort, current_app, jsonify, request
from kombu.exceptions import OperationalError as BrokerError
from werkzeug.security import check_password_hash

from . import config, tasks
from .celery import celery
from .factory import RELEASE

blueprint = Blueprint("fixture", __name__, url_prefix="/fixture")

# InvenioRDM's file content upload (invenio-rdm-records' draft files
# resource), which NGINX streams with the site's upload limit.
records = Blueprint("fixture_records", __name__)

FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


# Request bodies are read in chunks of this size, as invenio-files-rest does.
CHUNK = 64 * 1024


def create_blueprint(app):
    """Return the REST API's blueprint (invenio_base.api_blueprints)."""
    return blueprint


def create_records_blueprint(app):
    """Return the draft files' content route (invenio_base.api_blueprints)."""
    return records


def create_ui_blueprint(app):
    """Return the UI's blueprint (invenio_base.blueprints): its index page."""
    ui = Blueprint("fixture_ui", __name__)
    ui.add_url_rule("/", "index", lambda: "invenio-infra fixture application (UI)\n")
    return ui


def unavailable(service, err):
    """Return a 503 answer that names the service and the error."""
    resp = jsonify({"error": "%s: %s" % (service, err), "service": service})
    resp.status_code = 503
    return resp


def _database_error(err):
    return unavailable("postgresql", str(err).strip())


def _redis_error(err):
    return unavailable("redis", err)


def _broker_error(err):
    return unavailable("broker", err)


for _bp in (blueprint, records):
    _bp.register_error_handler(psycopg2.Error, _database_error)
    _bp.register_error_handler(redis.RedisError, _redis_error)
    _bp.register_error_handler(BrokerError, _broker_error)


@blueprint.route("/info")
def info():
    """Tell which host, application and release answered, where it is
    mounted, and the client's address as the application sees it (after
    ProxyFix, as invenio-app's PROXYFIX_CONFIG has it: what rate limits and
    logs use)."""
    return jsonify({
        "host": socket.gethostname(),
        "app": current_app.config.get("FIXTURE_APP"),
        "script_root": request.script_root,
        "url_root": request.url_root,
        "remote_addr": request.remote_addr,
        "version": RELEASE or None,
    })


SETTING_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,99}$")


@blueprint.route("/settings/<name>/digest")
def setting_digest(name):
    """Return the type of a setting as the configuration holds it and the
    SHA-256 of its bytes (a string as Python encodes the environment), so a
    test can compare a secret without the value crossing the network; 404
    for a setting the configuration lacks."""
    if not SETTING_NAME.match(name) or name not in current_app.config:
        abort(404)
    value = current_app.config[name]
    body = {"name": name, "type": type(value).__name__, "sha256": None}
    if isinstance(value, str):
        body["sha256"] = hashlib.sha256(os.fsencode(value)).hexdigest()
    return jsonify(body)


def connect():
    """Open a connection to SQLALCHEMY_DATABASE_URI.

    InvenioRDM's engine (invenio-db, psycopg2) sets no connect timeout:
    libpq waits as long as TCP does. The fixture connects for each request
    (InvenioRDM keeps a pool) and bounds the wait at 30 s, so a services
    host that is down still answers 503 long before NGINX's 180 s read
    timeout, but a TLS and SCRAM handshake with a busy services host does
    not fail a request InvenioRDM would have served (5 s did: a 200 MB
    upload on a loaded CI machine got 503 "timeout expired")."""
    dsn = config.database_dsn(current_app.config.get("SQLALCHEMY_DATABASE_URI"))
    return psycopg2.connect(dsn, connect_timeout=30, application_name="invenio-fixture")


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


def default_location(cur):
    """Return the default files location's (id, directory), or abort with 503.

    The location is the row ``invenio files location create --default``
    made, never a setting: InvenioRDM reads it from the database.
    """
    cur.execute('SELECT id, uri FROM files_location WHERE "default" ORDER BY id LIMIT 1')
    row = cur.fetchone()
    if row is None:
        abort(unavailable("files", "no default files location: run invenio files location create --default"))
    uri = row[1]
    return row[0], uri[len("file://"):] if uri.startswith("file://") else uri


def check_name(name):
    """Abort with 400 unless name is a plain file name."""
    if not FILE_NAME.match(name):
        abort(Response("bad file name\n", 400))


def store(root, stream):
    """Write stream in chunks below root as invenio-files-rest lays files out.

    Returns the file's path, size and md5 checksum. The file is written under
    a temporary name, synced and renamed, so a reader never sees half of it.
    """
    fid = str(uuid.uuid4())
    path = os.path.join(root, fid[0:2], fid[2:4], fid[4:], "data")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    digest, size = hashlib.md5(), 0
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as f:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                f.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return fid, path, size, "md5:" + digest.hexdigest()


@blueprint.route("/files/<name>", methods=["POST", "PUT"])
def write_file(name):
    """Stream the request body to the default files location; record it in the database."""
    return store_file(name)


@records.route("/records/<pid>/draft/files/<name>/content", methods=["PUT"])
def write_draft_file(pid, name):
    """Stream a draft file's content as InvenioRDM's upload does (PUT to the
    content URL); the fixture keeps it by name, as /fixture/files does."""
    return store_file(name)


def store_file(name):
    """Stream the request body to the default files location; record it in the database."""
    check_name(name)
    conn = connect()
    try:
        with conn, conn.cursor() as cur:
            location, root = default_location(cur)
            fid, path, size, checksum = store(root, request.stream)
            cur.execute(
                "INSERT INTO files_files (id, key, uri, size, checksum, location_id)"
                " VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (key) DO UPDATE SET id = EXCLUDED.id, uri = EXCLUDED.uri,"
                " size = EXCLUDED.size, checksum = EXCLUDED.checksum, location_id = EXCLUDED.location_id",
                (fid, name, path, size, checksum, location),
            )
    finally:
        conn.close()
    return jsonify({"key": name, "size": size, "checksum": checksum, "uri": path,
                    "location": root, "host": socket.gethostname()}), 201


@blueprint.route("/files/<name>", methods=["GET"])
def read_file(name):
    """Stream a file back from where the database says it is, or 404."""
    check_name(name)
    conn = connect()
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT uri FROM files_files WHERE key = %s", (name,))
            row = cur.fetchone()
    finally:
        conn.close()
    if row is None:
        abort(404)
    try:
        f = open(row[0], "rb")
    except FileNotFoundError:
        abort(unavailable("files", "%s is in the database but not on the storage" % row[0]))

    def chunks():
        with f:
            while True:
                b = f.read(CHUNK)
                if not b:
                    return
                yield b

    return Response(chunks(), mimetype="application/octet-stream")


@blueprint.route("/login", methods=["POST"])
def login():
    """Check an account's email and password as invenio-accounts would: 200 or 401."""
    data = request.get_json(silent=True) or {}
    email, password = str(data.get("email", "")), str(data.get("password", ""))
    conn = connect()
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "SELECT id, password, active, confirmed_at IS NOT NULL FROM accounts_user WHERE email = %s",
                (email,),
            )
            row = cur.fetchone()
            roles = []
            if row is not None:
                cur.execute(
                    "SELECT r.name FROM accounts_role r JOIN accounts_userrole ur ON ur.role_id = r.id"
                    " WHERE ur.user_id = %s ORDER BY r.name", (row[0],))
                roles = [r[0] for r in cur.fetchall()]
    finally:
        conn.close()
    if row is None or not row[1] or not check_password_hash(row[1], password):
        return jsonify({"error": "invalid email or password"}), 401
    if not row[2] or not row[3]:
        return jsonify({"error": "account not active or not confirmed"}), 401
    return jsonify({"id": row[0], "email": email, "roles": roles, "host": socket.gethostname()})
