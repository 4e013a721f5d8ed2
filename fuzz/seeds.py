#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora into fuzz/corpus/<target>/ from the contract examples,
the platform fixtures and the bad-input corpus (tests/corpus), in each target's input layout.
Run by `make fuzz` before fuzzing; the corpora are not committed (they grow as the fuzzer runs)."""

import base64
import copy
import hashlib
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "fuzz" / "corpus"
EXAMPLES = ROOT / "shared" / "contracts" / "examples"
FIXTURES = ROOT / "tests" / "fixtures"
CASES = ROOT / "tests" / "corpus"

# The targets' tables, in the same order (fuzz_targets/*.rs).
ROUTES = ["order-placed", "order-delivered", "order-returned", "address-changed"]
SHOPIFY_TOPICS = [
    "orders/create", "fulfillment_events/create", "fulfillments/update", "fulfillments/create",
    "refunds/create", "returns/request", "returns/approve", "customers/update",
    "customers/create", "customers_email_marketing_consent/update", "customers/data_request",
    "customers/redact", "shop/redact", "orders/updated", "app/uninstalled", "",
]
WOO_TOPICS = ["order.created", "order.updated", "customer.updated", "customer.created"]


def write(target, data):
    folder = OUT / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ("seed-" + hashlib.sha1(data).hexdigest()[:16])).write_bytes(data)


def set_path(value, path, new, remove=False):
    """Sets (or removes) `order.lines[0].quantity`-style paths in a JSON value."""
    parts = [p for p in re.split(r"\.|\[(\d+)\]", path) if p]
    *head, last = [int(p) if p.isdigit() else p for p in parts]
    for p in head:
        value = value[p]
    if remove:
        del value[last]
    else:
        value[last] = new


def canonical():
    bodies = {r: json.loads((EXAMPLES / f"{r}.json").read_text()) for r in ROUTES}
    for route, body in bodies.items():
        write("canonical", bytes([ROUTES.index(route)]) + json.dumps(body).encode())
    for case in json.loads((CASES / "json.json").read_text()):
        route = ROUTES.index(case["route"])
        if "body" in case:
            write("canonical", bytes([route]) + case["body"].encode())
        elif "body_hex" in case:
            write("canonical", bytes([route]) + bytes.fromhex(case["body_hex"]))
    for case in json.loads((CASES / "values.json").read_text()):
        if case.get("body_example") not in bodies:
            continue
        body = copy.deepcopy(bodies[case["body_example"]])
        try:
            for path, new in case.get("set", {}).items():
                set_path(body, path, new)
            for path in case.get("remove", []):
                set_path(body, path, None, remove=True)
        except (KeyError, IndexError, TypeError):
            continue
        write("canonical", bytes([ROUTES.index(case["route"])]) + json.dumps(body).encode())


def topic_of(name, topics):
    """`refunds-create-partial.json` -> `refunds/create` (the longest topic the name starts with)."""
    stem = name.removesuffix(".json")
    matches = [t for t in topics if t and stem.startswith(re.sub(r"[/._]", "-", t))]
    return max(matches, key=len) if matches else None


def platforms():
    for path in sorted((FIXTURES / "shopify").glob("*.json")):
        topic = topic_of(path.name, SHOPIFY_TOPICS)
        if topic is not None:
            # Topic, its own route, no trigger time, the body.
            write("shopify", bytes([SHOPIFY_TOPICS.index(topic), 0, 0]) + path.read_bytes())
    for path in sorted((FIXTURES / "woocommerce").glob("*.json")):
        topic = topic_of(path.name, WOO_TOPICS)
        if topic is None:
            continue
        for route in (0, 4):  # the topic's first and second route (order.updated has two)
            write("woocommerce", bytes([WOO_TOPICS.index(topic), route]) + path.read_bytes())


def links():
    for ids in ["demo\ncus-8812\nNL-1001", "de-winkel\nc\u00e9\n#1", "a\n" + "9" * 128 + "\nx"]:
        write("link_tokens", b"\x01" + ids.encode())
    write("link_tokens", b"\x00" + b"dTEfZGVtbx9jdXMtODgxMg.AAAA")


def admin():
    for query in [
        "",
        "from=2026-11-01&to=2026-11-29",
        "shop=demo&kind=survey&class=promotional&status=sent&format=csv&reveal=1",
        "customer=cus-8812&email=anna%40example.nl&format=json&cursor=abc",
        "to=&from=2025-11-29&shop=de-winkel&status=HELD_OUT",
    ]:
        write("admin_query", b"\x00" + query.encode())
    day = "2026-11-10"
    cursor = {
        "day": day,
        "key": {
            "pk": {"S": "SHOP#demo#CUST#cus-1"},
            "sk": {"S": "MSG#survey#e"},
            "log_day": {"S": f"SHOP#demo#{day}"},
            "log_at": {"N": "1794312000000"},
        },
    }
    text = json.dumps(cursor, separators=(",", ":"))
    write("paging_cursor", text.encode())
    write("paging_cursor", base64.urlsafe_b64encode(text.encode()).rstrip(b"="))
    write("paging_cursor", json.dumps({"day": day, "key": {}}).encode())
    query = "cursor=" + base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()
    write("admin_query", b"\x00" + query.encode())


canonical()
platforms()
links()
admin()
for target in ["standard_webhooks", "platform_hmac", "decide"]:
    (OUT / target).mkdir(parents=True, exist_ok=True)
print(f"seeds: {sum(1 for _ in OUT.glob('*/seed-*'))} files in {OUT}")
