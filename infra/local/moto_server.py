"""moto's AWS emulator on loopback, one request at a time.

moto's own `moto_server` serves requests on threads, and its TransactWriteItems is not atomic
against a concurrent one. DynamoDB's is. So this serves moto's WSGI application behind one
lock: every request (a whole transaction included) is applied atomically, and concurrency
tests test trouw, not the emulator.

Cognito's TOTP codes are checked as in the cloud (MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP).

Usage: moto_server.py [--host 127.0.0.1] [--port 4566] [--port-file FILE] [--parent-pid PID]
--port 0 picks a free port and writes it to --port-file once the server listens.
--parent-pid makes the server exit when that process is gone (no orphans after a crash).
"""

import argparse
import json
import os
import sys
import threading
import time

# Cognito checks TOTP codes (SOFTWARE_TOKEN_MFA); moto accepts any code unless told to check
# them, and a wrong code must be refused here as in the cloud.
os.environ.setdefault("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")

from moto.server import DomainDispatcherApplication, create_backend_app

import moto_iam
from werkzeug.serving import WSGIRequestHandler, make_server

import moto_fast
import moto_timings


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class SerialApp:
    """Runs each request, body included, under one lock, and times it (moto_timings.py)."""

    def __init__(self, app, timings=None):
        self.app = app
        self.lock = threading.Lock()
        self.timings = timings or moto_timings.Timings()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == moto_timings.TIMINGS_PATH:
            return self.timings.answer(start_response)
        arrived = time.perf_counter()
        with self.lock:
            acquired = time.perf_counter()
            try:
                return self._serve(environ, start_response)
            finally:
                self.timings.record(moto_timings.caller_of(environ),
                                    moto_timings.action_of(environ),
                                    acquired - arrived, time.perf_counter() - acquired)

    def _serve(self, environ, start_response):
        if environ.get("PATH_INFO") == SES_MESSAGES_PATH:
            return ses_messages(start_response)
        # Each function's IAM policy from the template (moto_iam.py).
        denied = moto_iam.gate(environ, start_response)
        if denied is not None:
            return denied
        result = self.app(environ, start_response)
        try:
            return [b"".join(result)]
        finally:
            close = getattr(result, "close", None)
            if close:
                close()


# The emails SES received, in the shape of `/moto-api/data.json`'s "ses" part. That endpoint
# serialises every item of every table, so reading mail through it slows down as a test run
# fills moto; this reads only the SES backends.
SES_MESSAGES_PATH = "/_trouw/ses-messages.json"


def ses_messages(start_response):
    from moto.ses.models import RawMessage, ses_backends

    raw = []
    for regions in ses_backends.values():
        for backend in regions.values():
            for m in backend.sent_messages:
                if isinstance(m, RawMessage):
                    raw.append({"id": m.id, "source": m.source,
                                "destinations": list(m.destinations), "raw_data": m.raw_data})
    body = json.dumps({"ses": {"RawMessage": raw}}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def watch_parent(pid):
    while True:
        try:
            os.kill(pid, 0)
        except OSError:
            os._exit(0)
        time.sleep(0.5)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--port-file")
    parser.add_argument("--parent-pid", type=int)
    parser.add_argument("--quiet", action="store_true", help="no access log")
    args = parser.parse_args()

    # DynamoDB's cost must not grow with the table (moto_fast.py); refuses an unknown moto.
    moto_fast.install()
    backend = DomainDispatcherApplication(create_backend_app)
    if os.environ.get("TROUW_MOTO_PROFILE"):
        backend = moto_fast.Profiled(backend, os.environ["TROUW_MOTO_PROFILE"])
    app = SerialApp(backend)
    handler = QuietHandler if args.quiet else WSGIRequestHandler
    server = make_server(args.host, args.port, app, threaded=True, request_handler=handler)
    port = server.socket.getsockname()[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, args.port_file)
    if args.parent_pid:
        threading.Thread(target=watch_parent, args=(args.parent_pid,), daemon=True).start()
    print(f"moto listening on http://{args.host}:{port} (one request at a time)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
