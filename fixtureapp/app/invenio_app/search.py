"""The search engine at SEARCH_HOSTS, reached over HTTP as invenio-search does.

With no engine answering — the test images' search stand-in, which never
listens — a search step reports "skipped: stand-in" and changes nothing.
"""

import http.client
import json
import socket
import time

# How long a step waits for an engine to answer before calling it a stand-in.
WAIT = 5.0


class StandIn(Exception):
    """No search engine answers: the instance carries a stand-in."""


def _request(host, port, method, path, body=None, timeout=10):
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        data = json.dumps(body) if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def reachable(hosts, wait=None):
    """Return the first (host, port) that answers; StandIn when none does within wait (WAIT)."""
    deadline = time.monotonic() + (WAIT if wait is None else wait)
    while True:
        for host, port in hosts:
            try:
                _request(host, port, "GET", "/", timeout=5)
                return host, port
            except (OSError, socket.timeout, http.client.HTTPException):
                continue
        if time.monotonic() >= deadline:
            raise StandIn("no search engine answers at %s" % ", ".join("%s:%d" % h for h in hosts))
        time.sleep(1)


def put(addr, path, body):
    """PUT a JSON body; an answer other than 2xx (or 400 "already exists") raises RuntimeError."""
    status, text = _request(addr[0], addr[1], "PUT", path, body)
    if 200 <= status < 300 or (status == 400 and "already_exists" in text):
        return status
    raise RuntimeError("PUT %s: %d %s" % (path, status, text[:300]))
