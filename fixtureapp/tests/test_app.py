"""Tests of the fixture application on the host, against no real service.

Run by fixtureapp_test.go with Debian's /usr/bin/python3, with PYTHONPATH
naming a site-packages directory that holds invenio_app and its dist-info
(FIXTURE_HEADS: the alembic heads the release has):
    PYTHONPATH=SITE python3 -m unittest discover -s tests
"""

import importlib
import io
import os
import tempfile
import unittest
import warnings
from unittest import mock

from click.testing import CliRunner

from invenio_app import cli, config, db, entrypoints, factory, tasks, views
from invenio_app.celery import celery

HOST = "repository.example.org"

ENV = {
    "INVENIO_TRUSTED_HOSTS": "['%s', 'localhost', '10.10.3.11']" % HOST,
    "INVENIO_SECRET_KEY": "test-secret-key-0123456789",
    "INVENIO_PROXYFIX_CONFIG": "{'x_for': 2, 'x_proto': 1, 'x_host': 0, 'x_port': 0, 'x_prefix': 0}",
    # Nothing listens on port 1 of loopback: connecting fails at once.
    "INVENIO_SQLALCHEMY_DATABASE_URI": "postgresql+psycopg2://invenio:pw@127.0.0.1:1/invenio?sslmode=disable",
    "INVENIO_CACHE_REDIS_URL": "redis://:pw@127.0.0.1:1/0",
    "INVENIO_MAIL_PORT": "25",
    "INVENIO_SEARCH_INDEX_PREFIX": "prod-",
    "PATH": "/usr/bin",
}


class ConfigTest(unittest.TestCase):
    def test_env_values_are_python_literals(self):
        cfg = config.from_env(ENV)
        self.assertEqual(cfg["TRUSTED_HOSTS"], [HOST, "localhost", "10.10.3.11"])
        self.assertEqual(cfg["MAIL_PORT"], 25)
        self.assertEqual(cfg["SEARCH_INDEX_PREFIX"], "prod-")
        self.assertEqual(cfg["PROXYFIX_CONFIG"]["x_for"], 2)
        self.assertNotIn("PATH", cfg)

    def test_database_dsn_strips_the_driver(self):
        self.assertEqual(
            config.database_dsn("postgresql+psycopg2://u:p@10.0.0.1:5432/db?sslmode=require"),
            "postgresql://u:p@10.0.0.1:5432/db?sslmode=require",
        )
        self.assertEqual(config.database_dsn("postgresql://u@h/db"), "postgresql://u@h/db")
        with self.assertRaises(ValueError):
            config.database_dsn(None)

    def test_trusted_hosts_falls_back_to_app_allowed_hosts(self):
        self.assertEqual(config.trusted_hosts({"APP_ALLOWED_HOSTS": ["a"]}), ["a"])
        self.assertIsNone(config.trusted_hosts({}))

    def test_search_hosts(self):
        cfg = config.from_env({"INVENIO_SEARCH_HOSTS": "[{'host': '10.0.0.3', 'port': 9200}]"})
        self.assertEqual(config.search_hosts(cfg), [("10.0.0.3", 9200)])
        self.assertEqual(config.search_hosts({}), [])

    def test_no_files_location_setting(self):
        # InvenioRDM reads its files location from the database only.
        self.assertFalse(hasattr(config, "files_root"))


class PingTest(unittest.TestCase):
    def setUp(self):
        self.ui = factory.create_ui(ENV).test_client()
        self.api = factory.create_api(ENV).test_client()

    def test_ping_answers_ok_on_both_apps(self):
        for client in (self.ui, self.api):
            for method in (client.get, client.head):
                r = method("/ping", headers={"Host": HOST})
                self.assertEqual(r.status_code, 200)
                self.assertIn(factory.HOST_HEADER, r.headers)
                self.assertEqual(r.headers[factory.RELEASE_HEADER], factory.RELEASE)
            self.assertEqual(client.get("/ping", headers={"Host": HOST}).data, b"OK")

    def test_api_ping_under_the_api_mount(self):
        # What uWSGI's mount = /api=... with manage-script-name hands the app.
        r = self.api.get("/fixture/info", base_url="https://%s/api" % HOST)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.get_json()["script_root"], "/api")
        self.assertEqual(r.get_json()["app"], "api")
        self.assertEqual(r.get_json()["version"] or "", r.headers[factory.RELEASE_HEADER])

    def test_info_names_the_client_behind_two_proxies(self):
        # x_for: 2 (the load balancer and NGINX): the second address from the
        # right is the client; what a client wrote before it is not believed.
        r = self.api.get("/fixture/info", base_url="https://%s/api" % HOST,
                         headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.7, 198.51.100.7"},
                         environ_base={"REMOTE_ADDR": "127.0.0.1"})
        self.assertEqual(r.get_json()["remote_addr"], "198.51.100.7")

    def test_setting_digest_of_a_secret(self):
        import hashlib
        value = "p'w\"d \\ \udcff 12"
        env = dict(ENV, INVENIO_DATACITE_PASSWORD=repr(value), INVENIO_NUMBER="12345")
        api = factory.create_api(env).test_client()
        base = "https://%s/api" % HOST
        body = api.get("/fixture/settings/DATACITE_PASSWORD/digest", base_url=base).get_json()
        self.assertEqual(body["type"], "str")
        self.assertEqual(body["sha256"], hashlib.sha256(os.fsencode(value)).hexdigest())
        self.assertEqual(api.get("/fixture/settings/NUMBER/digest", base_url=base).get_json()["type"], "int")
        self.assertEqual(api.get("/fixture/settings/NOT_SET/digest", base_url=base).status_code, 404)

    def test_draft_file_content_needs_the_database(self):
        # InvenioRDM's upload URL, which NGINX gives the site's upload limit.
        r = self.api.put("/records/abcd-1234/draft/files/big.bin/content", data=b"x",
                         base_url="https://%s/api" % HOST)
        self.assertEqual(r.status_code, 503)
        self.assertEqual(r.get_json()["service"], "postgresql")

    def test_untrusted_host_gets_400(self):
        for client in (self.ui, self.api):
            r = client.get("/ping", headers={"Host": "evil.example.org"})
            self.assertEqual(r.status_code, 400)

    def test_trusted_host_with_port(self):
        r = self.ui.get("/ping", headers={"Host": HOST + ":8080"})
        self.assertEqual(r.status_code, 200)

    def test_no_trusted_hosts_means_any(self):
        env = dict(ENV)
        del env["INVENIO_TRUSTED_HOSTS"]
        r = factory.create_ui(env).test_client().get("/ping", headers={"Host": "any.example.org"})
        self.assertEqual(r.status_code, 200)


def forget_backend():
    """Make Celery build its result backend anew from the current settings."""
    try:
        del celery._local.backend
    except AttributeError:
        pass


class ServicesTest(unittest.TestCase):
    def setUp(self):
        self.api = factory.create_api(ENV).test_client()

    def get(self, path, **kw):
        return self.api.get(path, headers={"Host": HOST}, **kw)

    def test_database_down_is_503_naming_postgresql(self):
        r = self.get("/fixture/records")
        self.assertEqual(r.status_code, 503)
        self.assertEqual(r.get_json()["service"], "postgresql")

    def test_redis_down_is_503_naming_redis(self):
        r = self.get("/fixture/beat")
        self.assertEqual(r.status_code, 503)
        self.assertEqual(r.get_json()["service"], "redis")

    def test_beat_lists_heartbeat_hosts(self):
        store = {}

        class FakeRedis:
            def set(self, key, value, ex=None):
                store[key] = value

            def get(self, key):
                return store.get(key)

            def scan_iter(self, match=None, count=None):
                prefix = match.rstrip("*")
                return [k.encode() for k in store if k.startswith(prefix)]

        with mock.patch.object(tasks, "redis_client", lambda cfg=None: FakeRedis()):
            tasks.heartbeat("invenio01-prod")
            body = self.get("/fixture/beat").get_json()
        self.assertEqual(body["count"], 1)
        self.assertIn("invenio01-prod", body["hosts"])

    def test_task_round_trip_through_the_result_backend(self):
        conf = {
            "broker_url": "memory://",
            "result_backend": "cache+memory://",
            "task_always_eager": True,
            "task_store_eager_result": True,
        }
        saved = {k: celery.conf.get(k) for k in conf}
        celery.conf.update(conf)
        forget_backend()
        # A finalized app has copied task_store_eager_result into its tasks.
        store = tasks.echo.store_eager_result
        tasks.echo.store_eager_result = True
        try:
            r = self.api.post("/fixture/tasks", json={"n": 42}, headers={"Host": HOST})
            self.assertEqual(r.status_code, 202)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                got = self.get("/fixture/tasks/" + r.get_json()["id"]).get_json()
        finally:
            celery.conf.update(saved)
            tasks.echo.store_eager_result = store
            forget_backend()
        self.assertEqual(got["state"], "SUCCESS")
        self.assertEqual(got["result"]["payload"], {"n": 42})
        self.assertIn("worker", got["result"])

    def test_files_need_the_database(self):
        r = self.api.post("/fixture/files/a.txt", data=b"x", headers={"Host": HOST})
        self.assertEqual(r.status_code, 503)
        self.assertEqual(r.get_json()["service"], "postgresql")

    def test_login_needs_the_database(self):
        r = self.api.post("/fixture/login", json={"email": "a@b.c", "password": "x"}, headers={"Host": HOST})
        self.assertEqual(r.status_code, 503)

    def test_store_streams_in_chunks(self):
        reads = []

        class Stream(io.BytesIO):
            def read(self, n=-1):
                reads.append(n)
                return super().read(n)

        body = os.urandom(3 * views.CHUNK + 17)
        with tempfile.TemporaryDirectory() as d:
            fid, path, size, checksum = views.store(d, Stream(body))
            self.assertEqual(path, os.path.join(d, fid[0:2], fid[2:4], fid[4:], "data"))
            with open(path, "rb") as f:
                self.assertEqual(f.read(), body)
            self.assertEqual(os.listdir(os.path.dirname(path)), ["data"], "no temporary file left")
        self.assertEqual(size, len(body))
        self.assertTrue(checksum.startswith("md5:"))
        self.assertTrue(all(n == views.CHUNK for n in reads), reads)
        self.assertGreaterEqual(len(reads), 4)


class EntryPointsTest(unittest.TestCase):
    def test_modules_expose_what_uwsgi_and_celery_load(self):
        with mock.patch.dict(os.environ, ENV):
            ui = importlib.import_module("invenio_app.wsgi_ui")
            rest = importlib.import_module("invenio_app.wsgi_rest")
        self.assertTrue(callable(ui.application))
        self.assertTrue(callable(rest.application))
        mod = importlib.import_module("invenio_app.celery")
        self.assertEqual(mod.celery.main, "invenio_app")
        self.assertIn("fixture.heartbeat", mod.celery.conf.beat_schedule["fixture-heartbeat"]["task"])
        importlib.import_module("invenio_app.tasks")
        self.assertEqual(list(mod.celery.conf.include), ["invenio_app.tasks"])
        self.assertIn("fixture.echo", mod.celery.tasks)

    def test_celery_reads_broker_and_backend(self):
        from invenio_app.celery import create_celery

        app = create_celery({
            "INVENIO_BROKER_URL": "amqp://invenio:pw@10.0.0.3:5672/invenio",
            "INVENIO_CELERY_RESULT_BACKEND": "redis://:pw@10.0.0.3:6379/2",
        })
        self.assertEqual(app.conf.broker_url, "amqp://invenio:pw@10.0.0.3:5672/invenio")
        self.assertEqual(app.conf.result_backend, "redis://:pw@10.0.0.3:6379/2")
        celery.set_current()  # a new Celery app makes itself the current one


class DistInfoTest(unittest.TestCase):
    """What the application finds through its dist-info's entry points."""

    def test_groups_name_the_applications_parts(self):
        self.assertEqual(entrypoints.modules(entrypoints.TASKS), ["invenio_app.tasks"])
        self.assertEqual(entrypoints.modules(entrypoints.MODELS), ["invenio_app.models"])
        (alembic_dir,) = entrypoints.directories(entrypoints.ALEMBIC)
        self.assertTrue(os.path.isdir(alembic_dir))

    def test_blueprints_come_from_entry_points(self):
        app = factory.create_api(ENV)
        self.assertIn("fixture", app.blueprints)
        self.assertIn("fixture_ui", factory.create_ui(ENV).blueprints)

    def test_alembic_heads_are_the_releases(self):
        self.assertEqual(db.heads(), os.environ["FIXTURE_HEADS"].split())

    def test_without_dist_info_nothing_is_found(self):
        with mock.patch.object(entrypoints.metadata, "entry_points", lambda **kw: []):
            with self.assertRaisesRegex(LookupError, "dist-info"):
                factory.create_api(ENV)

    def test_cli_commands_are_the_flask_commands_entry_points(self):
        with mock.patch.dict(os.environ, ENV):
            out = CliRunner().invoke(cli.cli, ["--help"], prog_name="invenio")
        self.assertEqual(out.exit_code, 0, out.output)
        for cmd in ("db", "alembic", "files", "roles", "access", "users", "index",
                    "rdm-records", "communities", "rdm", "queues"):
            self.assertRegex(out.output, r"(?m)^  %s\b" % cmd)

    def test_search_steps_without_an_engine_say_stand_in(self):
        env = dict(ENV, INVENIO_SEARCH_HOSTS="[{'host': '127.0.0.1', 'port': 1}]")
        from invenio_app import search

        with mock.patch.dict(os.environ, env):
            with mock.patch.object(search, "WAIT", 0.1):
                out = CliRunner().invoke(cli.cli, ["index", "init"], prog_name="invenio")
        self.assertEqual(out.exit_code, 0, out.output)
        self.assertIn("index init: skipped: stand-in", out.output)


if __name__ == "__main__":
    unittest.main()
