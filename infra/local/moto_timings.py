"""Where moto's time goes, cheaply: per caller (the function whose identity signed the request,
or `operator` for setup and tests) and action, how many requests, how long they waited for
moto_server.py's lock and how long they held it. `GET /_trouw/timings.json` answers the totals
so far; `make load` (infra/local/load_test.py) reads them before and after its load to say what
the emulator costs next to the handlers' own time. Two clock reads and a dict update per
request: unlike moto_fast.Profiled, it can stay on.
"""

import json
import threading

import moto_iam

TIMINGS_PATH = "/_trouw/timings.json"


def action_of(environ):
    """The JSON protocols' X-Amz-Target (DynamoDB_20120810.Query), else method and the path's
    first segments (POST /v2/email/outbound-emails), never ids further down the path."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target
    path = "/".join(environ.get("PATH_INFO", "").split("/")[:4])
    return f"{environ.get('REQUEST_METHOD', '?')} {path}"


def caller_of(environ):
    identity = moto_iam.GATE.identities.get(moto_iam.access_key(environ) or "")
    return identity.function if identity else "operator"


class Timings:
    def __init__(self):
        self.lock = threading.Lock()
        # (caller, action) -> [count, wait seconds, held seconds, longest held]
        self.totals = {}

    def record(self, caller, action, waited, held):
        with self.lock:
            entry = self.totals.setdefault((caller, action), [0, 0.0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += waited
            entry[2] += held
            entry[3] = max(entry[3], held)

    def snapshot(self):
        with self.lock:
            return [{"caller": caller, "action": action, "count": n, "wait_s": waited,
                     "held_s": held, "max_held_s": longest}
                    for (caller, action), (n, waited, held, longest) in sorted(self.totals.items())]

    def answer(self, start_response):
        body = json.dumps({"timings": self.snapshot()}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]
