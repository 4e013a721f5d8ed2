"""Unit tests of moto's timings (moto_timings.py, recorded by moto_server.SerialApp): each
request is counted under its caller and action, with the time it waited for the lock and the
time it held it. No server, no moto backend.
"""

import io
import json
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import moto_server  # noqa: E402
import moto_timings  # noqa: E402


def slow_app(environ, start_response):
    environ["wsgi.input"].read()
    time.sleep(0.05)
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b"{}"]


def environ(target=None, path="/", method="POST", key=None):
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(b"{}"),
           "CONTENT_LENGTH": "2"}
    if target:
        env["HTTP_X_AMZ_TARGET"] = target
    if key:
        env["HTTP_AUTHORIZATION"] = f"AWS4-HMAC-SHA256 Credential={key}/20261130/eu-west-1/x/aws4_request"
    return env


def call(app, env):
    status = []
    body = b"".join(app(env, lambda s, h: status.append(s)))
    return status[0], body


class Timings(unittest.TestCase):
    def test_each_request_is_counted_with_its_wait_for_the_lock_and_its_time_under_it(self):
        app = moto_server.SerialApp(slow_app, moto_timings.Timings())
        threads = [threading.Thread(target=call, args=(app, environ("DynamoDB_20120810.Query")))
                   for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        call(app, environ(path="/v2/email/outbound-emails/a/b"))
        status, body = call(app, environ(path=moto_timings.TIMINGS_PATH, method="GET"))
        self.assertEqual(status, "200 OK")
        rows = {(r["caller"], r["action"]): r for r in json.loads(body)["timings"]}
        self.assertEqual(set(rows), {("operator", "DynamoDB_20120810.Query"),
                                     ("operator", "POST /v2/email/outbound-emails")})
        query = rows[("operator", "DynamoDB_20120810.Query")]
        self.assertEqual(query["count"], 2)
        self.assertGreaterEqual(query["held_s"], 0.1)
        # One of the two waited for the other to finish.
        self.assertGreaterEqual(query["wait_s"], 0.04)
        self.assertGreaterEqual(query["max_held_s"], 0.05)
        # Reading the timings is not itself timed.
        self.assertEqual(sum(r["count"] for r in rows.values()), 3)

    def test_a_function_identity_is_named_as_its_function(self):
        key = moto_server.moto_iam.GATE.register("OrderPlacedFunction", "trouw-local")
        self.assertEqual(moto_timings.caller_of(environ(key=key)), "OrderPlacedFunction")
        self.assertEqual(moto_timings.caller_of(environ(key="local")), "operator")


if __name__ == "__main__":
    unittest.main()
