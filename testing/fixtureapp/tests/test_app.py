"""Tests of the fixture application on the host, against no real service.

Run by fixtureapp_test.go with Debian's /usr/bin/python3:
    PYTHONPATH=app python3 -m unittest discover -s tests
"""

import importlib
import os
import tempfile
import unittest
import warnings
from unittest import mock

from invenio_app import config, factory, tasks, views
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

    def test_files_root(self):
        self.assertEqual(config.files_root({"FILES_LOCATION_URI": "file:///storage/data"}), "/storage/data")
        self.assertEqual(config.files_root({"FILES_LOCATION_URI": "/storage/data"}), "/storage/data")
        self.assertIsNone(config.files_root({}))


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
            self.assertEqual(client.get("/ping", headers={"Host": HOST}).data, b"OK")

    def test_api_ping_under_the_api_mount(self):
        # What uWSGI's mount = /api=... with manage-script-name hands the app.
        r = self.api.get("/fixture/info", base_url="https://%s/api" % HOST)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.get_json()["script_root"], "/api")
        self.assertEqual(r.get_json()["app"], "api")

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

    def test_files_round_trip(self):
        with tempfile.TemporaryDirectory() as d:
            env = dict(ENV, INVENIO_FILES_LOCATION_URI=d)
            api = factory.create_api(env).test_client()
            h = {"Host": HOST}
            r = api.post("/fixture/files/hello.txt", data=b"shared", headers=h)
            self.assertEqual(r.status_code, 201)
            self.assertEqual(api.get("/fixture/files/hello.txt", headers=h).data, b"shared")
            self.assertTrue(os.path.exists(os.path.join(d, "fixture", "hello.txt")))
            self.assertEqual(api.get("/fixture/files/missing", headers=h).status_code, 404)
            self.assertEqual(api.post("/fixture/files/..x", data=b"", headers=h).status_code, 400)

    def test_files_without_storage_is_404(self):
        self.assertEqual(self.get("/fixture/files/a").status_code, 404)


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
        self.assertEqual(mod.celery.conf.include, ["invenio_app.tasks"])
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


if __name__ == "__main__":
    unittest.main()
