"""`make load`: a bounded load on the local stack, then the faults run's checks on its result.

CUSTOMERS customers x 4 events (infra/local/load_journeys.py: canonical, Shopify and
WooCommerce bodies) are sent to trouw-dev with its own moto on free loopback ports (the
Stack of measure_local.py), CONCURRENCY customers at once, each customer's events in their
order; DUPLICATES of the deliveries are sent twice, the second at the same moment as the
first. A 503 is retried after its Retry-After, as a platform does (counted: trouw answers 503
when another writer kept winning); any other failure is an error. The stack's clock stands
still (POST /dev/clock with "stopped"), so stored times do not depend on how long anything
took.

Once the stream and the sender have settled (POST /dev/settle), the same deliveries go one at a
time, without duplicates, into a second, fresh stack with its clock at the same second, and
load_compare.py compares the two: every item of the table, the emails SES accepted (none sent
twice), nothing left SENDING.

Figures: throughput; the gateway's latency (its "request served" log line per request,
duration_ms) and the client's; the handlers' outcomes ("webhook handled"); and where the time
went: moto_server.py times each AWS request (infra/local/moto_timings.py: the wait for its
lock and the time holding it, per calling function), so a webhook's time splits into moto's
and the handler's own (everything else: trouw's code, the SDK, HTTP on loopback). One table,
printed and written to target/load/ (report.txt, report.json, differences.txt).

Everything talks to 127.0.0.1 only and the run stops by itself (--deadline, then SIGALRM).

Usage: .venv/bin/python infra/local/load_test.py [--customers 1000] [--concurrency 32]
       [--duplicates 0.05] [--seed 20261130]      (build first: cargo build --workspace --bins)
"""

import argparse
import concurrent.futures
import http.client
import json
import os
import random
import signal
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import load_compare  # noqa: E402
import load_journeys  # noqa: E402
from measure_local import Stack, percentile  # noqa: E402

ROOT = load_journeys.ROOT
TABLE = "trouw-load"
WEBHOOK_CALLERS = {"OrderPlacedFunction", "OrderDeliveredFunction", "OrderReturnedFunction",
                   "AddressChangedFunction"}
# A platform's attempts for one delivery before it gives up (Shopify: 8 over 4 hours).
ATTEMPTS = 8


def get_json(url, timeout=120):
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return json.loads(answer.read())


def post(port, path, body=b"", headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        conn.close()


def start_stack():
    stack = Stack(table=TABLE, dev_env={"RUST_LOG": "info", "SCHEDULE_EVERY_SECONDS": "5"})
    stop = load_journeys.STOP.isoformat().replace("+00:00", "Z")
    status, _, answer = post(stack.port, "/dev/clock",
                             json.dumps({"now": stop, "stopped": True}).encode())
    if status != 200:
        stack.stop()
        raise RuntimeError(f"the clock did not stop: {status} {answer[:200]!r}")
    return stack


class Tally:
    """What the sender saw, from any thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = []
        self.answers = {}
        self.retried_503 = 0
        self.errors = {}

    def add(self, took=None, status=None, error=None):
        with self.lock:
            if took is not None:
                self.latencies.append(took)
            if status is not None:
                self.answers[status] = self.answers.get(status, 0) + 1
            if error is not None:
                self.errors[error] = self.errors.get(error, 0) + 1


def deliver(port, delivery, attempt_name, tally, timeout, stop_at):
    """One delivery as a platform makes it: a 503 (or no answer) is retried, after the
    Retry-After the answer asks for."""
    for attempt in range(ATTEMPTS):
        if time.time() > stop_at:
            tally.add(error="not sent: deadline")
            return
        headers = delivery.headers(f"{attempt_name}{attempt}", time.time())
        started = time.perf_counter()
        try:
            status, answer_headers, body = post(
                port, f"/webhooks/{load_journeys.SHOP}/{delivery.route}", delivery.body,
                headers, timeout)
        except (OSError, http.client.HTTPException) as e:
            tally.add(error=f"client {type(e).__name__}")
            return
        took = time.perf_counter() - started
        tally.add(took=took, status=status)
        if status == 503:
            with tally.lock:
                tally.retried_503 += 1
            time.sleep(min(float(answer_headers.get("Retry-After", "1")), 5))
            continue
        if status // 100 != 2:
            tally.add(error=f"HTTP {status} on {delivery.route} ({delivery.dialect}): "
                            f"{body[:160].decode(errors='replace')}")
        return
    tally.add(error="gave up after 503s")


def load(stack, journeys, duplicated, concurrency, timeout, stop_at):
    """Each customer's events in order, `concurrency` customers at once; a duplicated
    delivery is sent twice at the same moment."""
    tally = Tally()
    twins = concurrent.futures.ThreadPoolExecutor(max_workers=concurrency)

    def customer(deliveries):
        for d in deliveries:
            if d.key in duplicated:
                twin = twins.submit(deliver, stack.port, d, "again-", tally, timeout, stop_at)
                deliver(stack.port, d, "", tally, timeout, stop_at)
                twin.result()
            else:
                deliver(stack.port, d, "", tally, timeout, stop_at)

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        for f in [pool.submit(customer, j) for j in journeys]:
            f.result()
    twins.shutdown()
    return tally, time.perf_counter() - started


def settle(stack, stop_at):
    """POST /dev/settle until the stream mapping has handled everything (it answers 503 after
    30 s of catching up). Returns the seconds it took."""
    started = time.perf_counter()
    while time.time() < stop_at:
        status, _, _ = post(stack.port, "/dev/settle", timeout=60)
        if status == 200:
            return time.perf_counter() - started
    raise RuntimeError("the stream did not settle before the deadline")


def log_lines(path, start, end):
    with open(path, "rb") as f:
        f.seek(start)
        text = f.read(end - start).decode(errors="replace")
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                pass


def moto_delta(before, after):
    """Per caller: requests, seconds holding moto's lock and waiting for it, between two
    snapshots of /_trouw/timings.json."""
    old = {(r["caller"], r["action"]): r for r in before["timings"]}
    per_caller = {}
    for r in after["timings"]:
        o = old.get((r["caller"], r["action"]), {"count": 0, "held_s": 0.0, "wait_s": 0.0})
        c = per_caller.setdefault(r["caller"], {"count": 0, "held_s": 0.0, "wait_s": 0.0})
        c["count"] += r["count"] - o["count"]
        c["held_s"] += r["held_s"] - o["held_s"]
        c["wait_s"] += r["wait_s"] - o["wait_s"]
    return {k: v for k, v in per_caller.items() if v["count"]}


def gateway_latencies(lines):
    """Seconds per webhook request, from the gateway's "request served" lines, sorted."""
    return sorted(l["duration_ms"] / 1000 for l in lines if l.get("message") == "request served"
                  and str(l.get("route", "")).startswith("/webhooks/"))


def outcomes_of(lines):
    """The handlers' outcomes (processed, duplicate, ...) from their "webhook handled" lines."""
    counts = {}
    for line in lines:
        if line.get("message") == "webhook handled":
            counts[line.get("outcome")] = counts.get(line.get("outcome"), 0) + 1
    return counts


def calm_replay(journeys, stop_at):
    """The same deliveries one at a time, no duplicates, into a fresh stack."""
    stack = start_stack()
    try:
        tally = Tally()
        started = time.perf_counter()
        for deliveries in journeys:
            for d in deliveries:
                deliver(stack.port, d, "", tally, 30, stop_at)
        elapsed = time.perf_counter() - started
        settle(stack, stop_at)
        snapshot = load_compare.snapshot(stack.moto, TABLE, get_json)
    finally:
        stack.stop()
    lines = list(log_lines(stack.log.name, 0, os.path.getsize(stack.log.name)))
    return tally, elapsed, snapshot, outcomes_of(lines), gateway_latencies(lines)


def ms(seconds):
    return f"{seconds * 1000:.0f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duplicates", type=float, default=0.05,
                        help="share of the deliveries sent twice at once")
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--timeout", type=float, default=30, help="client timeout per request, s")
    parser.add_argument("--deadline", type=float, default=1800, help="stop after this many s")
    parser.add_argument("--out", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "load"))
    args = parser.parse_args()
    stop_at = time.time() + args.deadline
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("deadline")))
    signal.alarm(int(args.deadline) + 120)
    os.makedirs(args.out, exist_ok=True)

    journeys = load_journeys.generate(args.customers, args.seed)
    keys = [d.key for j in journeys for d in j]
    duplicated = set(random.Random(args.seed).sample(keys, round(len(keys) * args.duplicates)))
    print(f"load: {args.customers} customers, {len(keys)} events, {len(duplicated)} sent twice, "
          f"concurrency {args.concurrency}", flush=True)

    stack = start_stack()
    try:
        log = stack.log.name
        stack.log.flush()
        before = get_json(f"{stack.moto}/_trouw/timings.json")
        log_start = os.path.getsize(log)
        tally, elapsed = load(stack, journeys, duplicated, args.concurrency, args.timeout,
                              stop_at)
        loaded = get_json(f"{stack.moto}/_trouw/timings.json")
        time.sleep(0.5)  # the last answers' log lines
        log_end = os.path.getsize(log)
        print(f"sent in {elapsed:.1f} s; settling", flush=True)
        settled_in = settle(stack, stop_at)
        settled = get_json(f"{stack.moto}/_trouw/timings.json")
        result = load_compare.snapshot(stack.moto, TABLE, get_json)
    finally:
        stack.stop()
    lines = list(log_lines(log, log_start, log_end))
    served = gateway_latencies(lines)
    outcomes = outcomes_of(lines)
    print("calm replay: the same deliveries one at a time into a fresh stack", flush=True)
    calm_tally, calm_elapsed, calm, calm_outcomes, calm_served = calm_replay(journeys, stop_at)
    checks = load_compare.compare(result, calm)
    checks["calm_items"] = len(calm["items"])
    checks["calm_outcomes"] = calm_outcomes
    checks["calm_gateway"] = calm_served

    report = figures(args, keys, duplicated, tally, elapsed, served, outcomes, before, loaded,
                     settled, settled_in, calm_tally, calm_elapsed, checks, result)
    text = table(report)
    print(text, flush=True)
    with open(os.path.join(args.out, "report.txt"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump(report, f, indent=2, sort_keys=True)
    with open(os.path.join(args.out, "differences.txt"), "w") as f:
        f.write("\n".join(checks["differences"] + checks["emails_differ"]) + "\n")
    for line in (checks["differences"] + checks["emails_differ"])[:20]:
        print(line)
    print(f"written to {args.out}/", flush=True)
    return 0 if report["passed"] else 1


def figures(args, keys, duplicated, tally, elapsed, served, outcomes, before, loaded, settled,
            settled_in, calm_tally, calm_elapsed, checks, result):
    gateway = served
    calm_gateway = checks["calm_gateway"]
    client = sorted(tally.latencies)
    during = moto_delta(before, loaded)
    after = moto_delta(loaded, settled)
    hooks = {k: v for k, v in during.items() if k in WEBHOOK_CALLERS}
    hook_calls = sum(v["count"] for v in hooks.values())
    hook_held = sum(v["held_s"] for v in hooks.values())
    hook_wait = sum(v["wait_s"] for v in hooks.values())
    n = len(gateway) or 1
    load_mail, calm_mail = checks["load_mail"], checks["calm_mail"]
    deliberate = tally.answers.get(503, 0)
    errors = dict(tally.errors)
    mail_ok = (not load_mail["unnamed_emails"] and not load_mail["sent_without_email"]
               and not load_mail["repeated_ids"] and load_mail["emails"] == load_mail["sent_records"]
               and not checks["emails_differ"])
    # The calm replay sends each event once: each must be new to trouw, or the corpus reuses
    # an id and the comparison proves less than it says.
    calm_ok = not calm_tally.errors and "duplicate" not in checks["calm_outcomes"]
    passed = (not errors and calm_ok and not checks["differences"] and mail_ok
              and not load_mail["sending"] and not load_mail["pending"])
    return {
        "customers": args.customers, "events": len(keys), "duplicated": len(duplicated),
        "concurrency": args.concurrency, "seed": args.seed,
        "deliveries": len(client), "elapsed_s": elapsed,
        "throughput_per_s": len(client) / elapsed if elapsed else 0,
        "gateway_ms": {"p50": percentile(gateway, 50) * 1000, "p99": percentile(gateway, 99) * 1000,
                       "max": (gateway[-1] if gateway else float("nan")) * 1000,
                       "mean": sum(gateway) / n * 1000, "requests": len(gateway)},
        "client_ms": {"p50": percentile(client, 50) * 1000, "p99": percentile(client, 99) * 1000,
                      "max": (client[-1] if client else float("nan")) * 1000},
        "answers": {str(k): v for k, v in sorted(tally.answers.items())},
        "outcomes": outcomes, "retried_503": tally.retried_503, "deliberate_503": deliberate,
        "errors": errors,
        "moto_during_load": during, "moto_while_settling": after,
        "moto_busy_share": sum(v["held_s"] for v in during.values()) / elapsed if elapsed else 0,
        "webhook_moto_ms": {"calls_per_request": hook_calls / n, "held": hook_held / n * 1000,
                            "waited": hook_wait / n * 1000},
        "webhook_own_ms": (sum(gateway) - hook_held - hook_wait) / n * 1000,
        "settled_in_s": settled_in,
        "items": len(result["items"]), "calm_items": checks["calm_items"],
        "calm_elapsed_s": calm_elapsed, "calm_errors": dict(calm_tally.errors),
        "calm_outcomes": checks["calm_outcomes"],
        "calm_gateway_ms": {"p50": percentile(calm_gateway, 50) * 1000,
                            "p99": percentile(calm_gateway, 99) * 1000},
        "differences": len(checks["differences"]), "emails_differ": len(checks["emails_differ"]),
        "emails": load_mail["emails"], "calm_emails": calm_mail["emails"],
        "messages": load_mail["statuses"],
        "sent_records": load_mail["sent_records"], "sending": len(load_mail["sending"]),
        "pending": len(load_mail["pending"]), "unnamed_emails": len(load_mail["unnamed_emails"]),
        "sent_without_email": len(load_mail["sent_without_email"]),
        "passed": passed,
    }


def table(r):
    g, c, hm = r["gateway_ms"], r["client_ms"], r["webhook_moto_ms"]
    rows = [
        ("load", f"{r['customers']} customers x 4 = {r['events']} events, {r['duplicated']} sent "
                 f"twice at once, concurrency {r['concurrency']}, seed {r['seed']}"),
        ("deliveries answered", f"{r['deliveries']} in {r['elapsed_s']:.1f} s = "
                                f"{r['throughput_per_s']:.1f} per second"),
        ("gateway latency", f"p50 {g['p50']:.0f} ms, p99 {g['p99']:.0f} ms, max {g['max']:.0f} ms "
                            f"(mean {g['mean']:.0f} ms, {g['requests']} requests)"),
        ("client latency", f"p50 {c['p50']:.0f} ms, p99 {c['p99']:.0f} ms, max {c['max']:.0f} ms"),
        ("answers", ", ".join(f"{n} x {s}" for s, n in r["answers"].items())),
        ("handlers' outcomes", ", ".join(f"{n} {o}" for o, n in sorted(r["outcomes"].items()))),
        ("errors", f"{sum(r['errors'].values())}" + "".join(
            f"; {n} x {k}" for k, n in sorted(r["errors"].items()))),
        ("deliberate 503s", f"{r['deliberate_503']} (another writer kept winning; retried)"),
        ("moto busy", f"{r['moto_busy_share'] * 100:.0f}% of the load's wall time holding its lock"),
        ("per webhook: moto", f"{hm['calls_per_request']:.1f} calls, {hm['held']:.1f} ms in moto "
                              f"+ {hm['waited']:.1f} ms waiting for its lock"),
        ("per webhook: own", f"{r['webhook_own_ms']:.1f} ms (gateway time outside moto: "
                             f"trouw, the SDK, loopback HTTP)"),
    ]
    for caller, v in sorted(r["moto_during_load"].items(), key=lambda x: -x[1]["held_s"]):
        rows.append((f"  moto: {caller}", f"{v['count']} calls, {v['held_s']:.1f} s held, "
                                          f"{v['wait_s']:.1f} s waiting"))
    settling = r["moto_while_settling"]
    rows += [
        ("stream settled", f"{r['settled_in_s']:.1f} s after the last answer; meanwhile moto: "
                           + ", ".join(f"{c} {v['count']} calls, {v['held_s']:.1f} s held"
                                       for c, v in sorted(settling.items(),
                                                          key=lambda x: -x[1]["held_s"]))),
        ("calm replay", f"{r['events']} events one at a time in {r['calm_elapsed_s']:.1f} s, "
                        f"{sum(r['calm_errors'].values())} errors; " + ", ".join(
                            f"{n} {o}" for o, n in sorted(r["calm_outcomes"].items()))
                        + f"; gateway p50 {r['calm_gateway_ms']['p50']:.0f} ms, "
                          f"p99 {r['calm_gateway_ms']['p99']:.0f} ms"),
        ("items", f"{r['items']} (calm replay {r['calm_items']}); {r['differences']} differ"),
        ("emails SES accepted", f"{r['emails']} (calm {r['calm_emails']}), {r['sent_records']} "
                                f"recorded SENT; {r['unnamed_emails']} sent without a SENT record, "
                                f"{r['sent_without_email']} SENT without an email; "
                                f"{r['emails_differ']} recipient/subject counts differ"),
        ("messages", ", ".join(f"{n} {s}" for s, n in sorted(r["messages"].items()))),
        ("left SENDING / PENDING", f"{r['sending']} / {r['pending']}"),
        ("result", "PASSED" if r["passed"] else "FAILED"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


if __name__ == "__main__":
    sys.exit(main())
