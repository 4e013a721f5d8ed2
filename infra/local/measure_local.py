"""Measures the local stack (moto + trouw-dev) as the table grows.

Starts moto (infra/local/moto_server.py) and target/debug/trouw-dev on free loopback ports,
fills the table with ITEMS items shaped as the store writes them, then times single order
webhooks (a new customer each) and a load of EVENTS order webhooks at CONCURRENCY. Prints
latencies (p50/p95/max), throughput and every non-2xx answer and client error, and exits 1
if any event failed. Everything it starts is stopped at the end, and the run stops by itself
(--deadline).

Realistic items: the script sends a few real events for one template customer through the
running stack, reads back what the store wrote (profile, orders, messages, activities, order
owner, processed events, with their index attributes), and copies that customer with new ids
until ITEMS items are in the table, written with BatchWriteItem. The copies' index attributes
are spread out (due times over the coming year, log days over the past 90 days, distinct
email hashes), so every index is as full as in real use and the schedule pass finds nothing
due in them.

Usage: .venv/bin/python infra/local/measure_local.py [--items 100000] [--singles 20]
       [--events 1000] [--concurrency 16]        (build first: cargo build --workspace --bins)
"""

import argparse
import base64
import concurrent.futures
import copy
import hashlib
import hmac
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "shared/contracts/examples")
# The documented local-only demo secret (README, Makefile); trouw-dev registers it for "demo".
DEMO_WEBHOOK_SECRET = "whsec_bG9jYWwtb25seS1kZW1vLXNlY3JldC0xMjM0NTY="
SHOP = "demo"
TEMPLATE_CUSTOMER = "tmplcust0000"
TEMPLATE_ORDER = "tmplordr0000"
TABLE = "trouw-measure"
DUE_SHARDS = 8


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sign(secret, webhook_id, timestamp, body):
    """Standard Webhooks: base64 HMAC-SHA256 of `id.timestamp.body` with the decoded secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def due_shard(pk):
    """The store's shard of the due index (FNV-1a of the partition key, as keys.rs)."""
    h = 0xCBF29CE484222325
    for b in pk.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"DUE#{h % DUE_SHARDS}"


def start_moto(port_file, log, env=None):
    """The project's moto (moto_server.py) on a free loopback port, gone with this process:
    (the process, its endpoint). `port_file` is where it writes its port; `log` its output."""
    proc = subprocess.Popen(
        [os.path.join(ROOT, ".venv/bin/python"), os.path.join(ROOT, "infra/local/moto_server.py"),
         "--port", "0", "--port-file", port_file, "--parent-pid", str(os.getpid()), "--quiet"],
        stdout=log, stderr=log, env=env)
    deadline = time.time() + 60
    while not (os.path.exists(port_file) and open(port_file).read().strip()):
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"moto did not start; see {getattr(log, 'name', 'its output')}")
        time.sleep(0.1)
    with open(port_file) as written:
        return proc, f"http://127.0.0.1:{written.read().strip()}"


class Stack:
    """moto and trouw-dev, started on free ports and stopped on exit."""

    def __init__(self, profile_dir=None, table=TABLE, dev_env=None):
        """`dev_env`: trouw-dev's environment over the defaults (RUST_LOG, SCHEDULE_...)."""
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix="trouw-measure-")
        port_file = os.path.join(self.tmp, "moto.port")
        env = dict(os.environ)
        if profile_dir:
            env["TROUW_MOTO_PROFILE"] = profile_dir
        self.log = open(os.path.join(self.tmp, "stack.log"), "w")
        moto, self.moto = start_moto(port_file, self.log, env)
        self.procs.append(moto)
        self.port = free_port()
        binary = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                              "debug/trouw-dev")
        if not os.path.exists(binary):
            raise RuntimeError(f"{binary} missing: run `cargo build --workspace --bins` first")
        dev = dict(os.environ, PORT=str(self.port), TROUW_AWS_ENDPOINT=self.moto,
                   TABLE_NAME=table, DEMO_WEBHOOK_SECRET=DEMO_WEBHOOK_SECRET,
                   RUST_LOG=os.environ.get("RUST_LOG", "warn"))
        dev.setdefault("SCHEDULE_EVERY_SECONDS", "5")
        dev.update(dev_env or {})
        self.procs.append(subprocess.Popen([binary], stdout=self.log, stderr=self.log,
                                           env=dev, cwd=ROOT))
        deadline = time.time() + 120
        while True:
            try:
                status, _ = request("GET", self.port, "/healthz", timeout=5)
                if status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or self.procs[1].poll() is not None:
                raise RuntimeError(f"trouw-dev did not start; see {self.log.name}")
            time.sleep(0.2)

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGINT if p is self.procs[-1] else signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.log.close()


def request(method, port, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def order_event(customer, order, email):
    with open(os.path.join(EXAMPLES, "order-placed.json")) as f:
        event = json.load(f)
    event["order"]["id"] = order
    event["customer"]["id"] = customer
    event["customer"]["email"] = email
    return event


def post_event(port, route, event, webhook_id, timeout):
    body = json.dumps(event).encode()
    timestamp = int(time.time())
    headers = {"content-type": "application/json", "webhook-id": webhook_id,
               "webhook-timestamp": str(timestamp),
               "webhook-signature": sign(DEMO_WEBHOOK_SECRET, webhook_id, timestamp, body)}
    started = time.perf_counter()
    status, answer = request("POST", port, f"/webhooks/{SHOP}/{route}", body, headers, timeout)
    return status, time.perf_counter() - started, answer


def dynamodb(stack):
    import boto3
    from botocore.config import Config
    return boto3.client("dynamodb", endpoint_url=stack.moto, region_name="eu-west-1",
                        aws_access_key_id="local", aws_secret_access_key="local",
                        config=Config(read_timeout=300, retries={"max_attempts": 2}))


def template_items(stack, ddb):
    """What the store writes for one customer: an order placed, then delivered."""
    email = f"{TEMPLATE_CUSTOMER}@example.com"
    placed = order_event(TEMPLATE_CUSTOMER, TEMPLATE_ORDER, email)
    for route, event in (("order-placed", placed), ("order-delivered", delivered(placed))):
        status, _, answer = post_event(stack.port, route, event,
                                       f"evt-{TEMPLATE_CUSTOMER}-{route}", 60)
        if status // 100 != 2:
            raise RuntimeError(f"template {route}: {status} {answer[:300]!r}")
    # The copies must look like a settled history (messages sent or deferred, not PENDING),
    # or the stream would hand every copied message to the sender again.
    status, answer = request("POST", stack.port, "/dev/settle", b"", timeout=60)
    if status != 200:
        raise RuntimeError(f"the stream did not settle: {status} {answer[:300]!r}")
    items = []
    for page in ddb.get_paginator("scan").paginate(TableName=TABLE):
        items += [i for i in page["Items"] if TEMPLATE_CUSTOMER in json.dumps(i)
                  or TEMPLATE_ORDER in json.dumps(i)]
    if not items:
        raise RuntimeError("the template customer left no items")
    pending = [i["sk"]["S"] for i in items if i.get("status", {}).get("S") == "PENDING"]
    if pending:
        raise RuntimeError(f"the template customer's messages are still pending: {pending}")
    return items


def delivered(placed):
    with open(os.path.join(EXAMPLES, "order-delivered.json")) as f:
        event = json.load(f)
    event["order"]["id"] = placed["order"]["id"]
    event["customer"]["id"] = placed["customer"]["id"]
    if "email" in event.get("customer", {}):
        event["customer"]["email"] = placed["customer"]["email"]
    return event


def replace_strings(value, old_new):
    if isinstance(value, dict):
        return {k: replace_strings(v, old_new) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_strings(v, old_new) for v in value]
    if isinstance(value, str):
        for old, new in old_new:
            value = value.replace(old, new)
    return value


def copies(templates, n_items, rng):
    """Copies of the template customer with new ids and spread-out index attributes."""
    now = int(time.time())
    written = 0
    i = 0
    while written < n_items:
        customer = f"imp{i:09d}"
        order = f"ord{i:09d}"
        log_shift_days = rng.randrange(0, 90)
        due_in = rng.randrange(86400, 365 * 86400)
        for template in templates:
            if written >= n_items:
                return
            item = replace_strings(copy.deepcopy(template),
                                   [(TEMPLATE_CUSTOMER, customer), (TEMPLATE_ORDER, order)])
            if "due_shard" in item:
                item["due_shard"] = {"S": due_shard(item["pk"]["S"])}
                item["due_at"] = {"N": str(now + due_in)}
            if "email_hash" in item:
                item["email_hash"] = {"S": hashlib.sha256(customer.encode()).hexdigest()}
            if "log_at" in item:
                at = int(item["log_at"]["N"]) - log_shift_days * 86_400_000
                day = time.strftime("%Y-%m-%d", time.gmtime(at / 1000))
                item["log_at"] = {"N": str(at)}
                item["log_day"] = {"S": f"SHOP#{SHOP}#{day}"}
            yield item
            written += 1
        i += 1


def seed(ddb, templates, n_items):
    rng = random.Random(11)
    batch = []
    started = time.perf_counter()
    count = 0

    def flush():
        pending = {TABLE: [{"PutRequest": {"Item": item}} for item in batch]}
        while pending:
            answer = ddb.batch_write_item(RequestItems=pending)
            pending = answer.get("UnprocessedItems") or {}

    for item in copies(templates, n_items, rng):
        batch.append(item)
        count += 1
        if len(batch) == 25:
            flush()
            batch.clear()
    if batch:
        flush()
    return count, time.perf_counter() - started


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def summary(name, latencies, errors, elapsed):
    lat = sorted(latencies)
    ms = lambda s: f"{s * 1000:.0f} ms"
    print(f"{name}: {len(lat)} ok, {sum(errors.values())} failed, in {elapsed:.1f} s "
          f"({(len(lat) + sum(errors.values())) / elapsed:.1f} events/s); "
          f"p50 {ms(percentile(lat, 50))}, p95 {ms(percentile(lat, 95))}, "
          f"max {ms(lat[-1]) if lat else '-'}", flush=True)
    for kind, n in sorted(errors.items()):
        print(f"  {n} x {kind}", flush=True)


def run_events(stack, count, concurrency, prefix, timeout, stop_at):
    latencies = []
    errors = {}
    answered = []
    lock = threading.Lock()

    def one(i):
        if time.time() > stop_at:
            kind, took = "not sent (deadline)", None
        else:
            customer = f"{prefix}{i:07d}"
            event = order_event(customer, f"o{customer}", f"{customer}@example.com")
            try:
                status, took, answer = post_event(stack.port, "order-placed", event,
                                                  f"evt-{customer}", timeout)
                kind = None if status // 100 == 2 else f"HTTP {status}: {answer[:120].decode(errors='replace')}"
            except (OSError, http.client.HTTPException) as e:
                kind, took = f"client {type(e).__name__}: {e}", None
        with lock:
            if kind is None:
                latencies.append(took)
                answered.append(customer)
            else:
                errors[kind] = errors.get(kind, 0) + 1

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(count)))
    return latencies, errors, time.perf_counter() - started, answered


def wait_for_messages(ddb, customers, stop_at):
    """Waits until the stream has handed every customer's messages to the sender (none is
    PENDING any more: sent, or deferred by quiet hours, ...), or nothing moved for 30 s.
    Returns how many customers' messages were handled, their statuses, and the seconds."""
    started = time.perf_counter()
    waiting = list(customers)
    statuses = {}
    last_change = time.perf_counter()
    while waiting and time.time() < stop_at and time.perf_counter() - last_change < 30:
        still = []
        for customer in waiting:
            items = ddb.query(
                TableName=TABLE, ConsistentRead=True,
                KeyConditionExpression="pk = :p AND begins_with(sk, :m)",
                ExpressionAttributeValues={":p": {"S": f"SHOP#{SHOP}#CUST#{customer}"},
                                           ":m": {"S": "MSG#"}})["Items"]
            found = [i.get("status", {}).get("S", "?") for i in items]
            if not found or "PENDING" in found or "SENDING" in found:
                still.append(customer)
            else:
                for status in found:
                    statuses[status] = statuses.get(status, 0) + 1
        if len(still) != len(waiting):
            last_change = time.perf_counter()
        waiting = still
        if waiting:
            time.sleep(0.5)
    return len(customers) - len(waiting), statuses, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000, help="items to seed the table with")
    parser.add_argument("--singles", type=int, default=20, help="single webhooks, one at a time")
    parser.add_argument("--events", type=int, default=1000, help="events of the load")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=30, help="client timeout per request, s")
    parser.add_argument("--deadline", type=float, default=1800, help="stop after this many s")
    parser.add_argument("--profile", help="directory for moto's cProfile dumps, one per request kind")
    args = parser.parse_args()
    stop_at = time.time() + args.deadline
    # The whole run stops by itself, whatever hangs.
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("deadline")))
    signal.alarm(int(args.deadline) + 60)

    stack = Stack(profile_dir=args.profile)
    failed = False
    try:
        ddb = dynamodb(stack)
        templates = template_items(stack, ddb)
        print(f"template customer: {len(templates)} items "
              f"({', '.join(sorted(t.get('item', {}).get('S', '?') for t in templates))})", flush=True)
        count, took = seed(ddb, templates, max(0, args.items - len(templates)))
        total = ddb.describe_table(TableName=TABLE)["Table"]["ItemCount"]
        print(f"seeded {count} items with BatchWriteItem in {took:.1f} s; table holds {total}",
              flush=True)

        latencies, errors = [], {}
        started = time.perf_counter()
        for i in range(args.singles):
            if time.time() > stop_at:
                break
            customer = f"single{i:06d}"
            try:
                status, t, answer = post_event(
                    stack.port, "order-placed",
                    order_event(customer, f"o{customer}", f"{customer}@example.com"),
                    f"evt-{customer}", args.timeout)
                if status // 100 == 2:
                    latencies.append(t)
                else:
                    kind = f"HTTP {status}: {answer[:120].decode(errors='replace')}"
                    errors[kind] = errors.get(kind, 0) + 1
            except (OSError, http.client.HTTPException) as e:
                kind = f"client {type(e).__name__}: {e}"
                errors[kind] = errors.get(kind, 0) + 1
        summary(f"single order webhooks ({total} items)", latencies, errors,
                time.perf_counter() - started)
        failed |= bool(errors)

        if args.events:
            latencies, errors, elapsed, customers = run_events(
                stack, args.events, args.concurrency, "load", args.timeout, stop_at)
            summary(f"{args.events} order webhooks at concurrency {args.concurrency}",
                    latencies, errors, elapsed)
            failed |= bool(errors)
            # Each order placed creates a message that the table's stream hands to the sender
            # after the webhook has answered.
            handled, statuses, waited = wait_for_messages(ddb, customers, stop_at)
            print(f"messages handled through the stream: {handled} of {len(customers)} "
                  f"customers ({', '.join(f'{n} {s}' for s, n in sorted(statuses.items()))}), "
                  f"all within {waited:.1f} s after the last answer", flush=True)
            failed |= handled != len(customers)
    finally:
        stack.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
