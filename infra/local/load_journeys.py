"""The deliveries of `make load`: CUSTOMERS distinct customers of the demo shop, four events
each, as their platforms send them (infra/local/load_test.py sends them).

Each customer buys, gets the parcel, then either sends part of it back or moves, and buys
again. Six in ten come through the canonical API (Standard Webhooks), two in ten from Shopify,
two in ten from WooCommerce; the bodies are the contract's examples and the platform fixtures
(tests/fixtures/), with the customer's own ids and address, and their times moved so that the
story ends on the day the stack's clock stands still at (STOP): placed four days before,
delivered two days before, the return or the move the day before, the second order that
morning. So no timer (the survey five days after the delivery, tips, reminders) falls due
during the run, and both runs of load_test.py store the same times.

A delivery is signed when it is sent (Standard Webhooks signatures carry the send time).
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import random
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "shared/contracts/examples")
FIXTURES = os.path.join(ROOT, "tests/fixtures")
SHOP = "demo"
# The documented local-only demo secrets (README, Makefile, infra/local/src/demo.rs).
DEMO_WEBHOOK_SECRET = "whsec_bG9jYWwtb25seS1kZW1vLXNlY3JldC0xMjM0NTY="
DEMO_SHOPIFY_SECRET = "local-only-demo-shopify-app-secret"
DEMO_SHOPIFY_DOMAIN = "demo.myshopify.com"
DEMO_WOOCOMMERCE_SECRET = "local-only-demo-woocommerce-secret"
# Where the stack's clock stands still: a Wednesday, 14:00 in Amsterdam (no quiet hours).
STOP = datetime.datetime(2027, 3, 10, 13, 0, 0, tzinfo=datetime.timezone.utc)

# The story's days, before STOP's day, for each step.
PLACED, DELIVERED, RETURNED_OR_MOVED, AGAIN = -4, -2, -1, 0


class Delivery:
    """One event as its platform delivers it. `key` names the event (a duplicate repeats it);
    `headers(attempt)` signs it for one attempt."""

    def __init__(self, customer, step, route, body, dialect, event_id):
        self.customer = customer
        self.step = step
        self.route = route
        self.body = body
        self.dialect = dialect
        self.event_id = event_id

    @property
    def key(self):
        return f"{self.customer}/{self.step}"

    def headers(self, attempt, now):
        """Headers for one send. A platform repeats its event id on a retry or a duplicate,
        except WooCommerce, whose every delivery gets a new delivery id (trouw de-duplicates
        its events by the resource instead)."""
        body = self.body
        if self.dialect == "canonical":
            key = base64.b64decode(DEMO_WEBHOOK_SECRET.removeprefix("whsec_"))
            timestamp = int(now)
            mac = hmac.new(key, f"{self.event_id}.{timestamp}.".encode() + body, hashlib.sha256)
            return {"content-type": "application/json", "webhook-id": self.event_id,
                    "webhook-timestamp": str(timestamp),
                    "webhook-signature": "v1," + base64.b64encode(mac.digest()).decode()}
        if self.dialect == "shopify":
            return {"content-type": "application/json",
                    "x-shopify-topic": self.topic,
                    "x-shopify-hmac-sha256": body_signature(body, DEMO_SHOPIFY_SECRET),
                    "x-shopify-shop-domain": DEMO_SHOPIFY_DOMAIN,
                    "x-shopify-api-version": "2025-10",
                    "x-shopify-webhook-id": f"{self.event_id}-{attempt}",
                    "x-shopify-event-id": self.event_id,
                    "x-shopify-triggered-at": STOP.isoformat().replace("+00:00", "Z")}
        return {"content-type": "application/json",
                "x-wc-webhook-topic": self.topic,
                "x-wc-webhook-signature": body_signature(body, DEMO_WOOCOMMERCE_SECRET),
                "x-wc-webhook-source": "https://winkel.example.nl/",
                "x-wc-webhook-delivery-id": f"{self.event_id}-{attempt}"}


def body_signature(body, secret):
    """Shopify's and WooCommerce's: base64 HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2})([T ])(\d{2}:\d{2}:\d{2})")
# The fixtures' story (tests/fixtures/README.md) and the examples run from 2 November 2026 (the
# order) to 1 December (the second order); the run compresses it into five days ending on
# STOP's day. Each story date to days from STOP's day; earlier dates (accounts created before
# the story) move with the order's.
STORY_START = datetime.date(2026, 11, 2)
STORY = {STORY_START: -4, datetime.date(2026, 11, 3): -3, datetime.date(2026, 11, 4): -2,
         **{datetime.date(2026, 11, d): -1 for d in range(5, 21)},
         datetime.date(2026, 12, 1): 0}


def story_day(date):
    if date < STORY_START:
        return STORY[STORY_START] + (date - STORY_START).days
    if date not in STORY:
        raise ValueError(f"{date} is not a day of the fixtures' story")
    return STORY[date]


def moved_to_stop(text, day):
    """`text` (a JSON body) with every timestamp's date moved onto the run's days (STORY), then
    all by as many days as put the latest (the event's own) on `day`: a second order made from
    the first order's body happens on its own day. Times of day and offsets stay, so a
    customer's events keep the story's order."""
    days = [story_day(datetime.date.fromisoformat(m.group(1))) for m in TIMESTAMP.finditer(text)]
    extra = day - max(days)

    def move(match):
        date = STOP.date() + datetime.timedelta(
            days=story_day(datetime.date.fromisoformat(match.group(1))) + extra)
        return f"{date.isoformat()}{match.group(2)}{match.group(3)}"

    return TIMESTAMP.sub(move, text)


def read(path):
    with open(path) as f:
        return f.read()


def replaced(text, pairs):
    for old, new in pairs:
        text = text.replace(old, new)
    return text


def canonical(n, variant):
    customer, email = f"load-{n:05d}", f"klant{n:05d}@example.nl"
    orders = [f"LD-{n:05d}-1", f"LD-{n:05d}-2"]

    def body(example, order, day):
        text = moved_to_stop(read(os.path.join(EXAMPLES, example + ".json")), day)
        text = replaced(text, [("NL-100482", order or orders[0]), ("cus-8812", customer),
                               ("anna.devries@example.nl", email),
                               ("Prinsengracht 263", f"Prinsengracht {n + 1}"),
                               ("Oudegracht 158", f"Oudegracht {n + 1}")])
        return json.dumps(json.loads(text)).encode()

    third = (("order-returned", "order-returned", orders[0]) if variant == "return"
             else ("address-changed", "address-changed", None))
    steps = [("order-placed", "order-placed", orders[0], PLACED),
             ("order-delivered", "order-delivered", orders[0], DELIVERED),
             (*third, RETURNED_OR_MOVED),
             ("order-placed", "order-placed", orders[1], AGAIN)]
    return [Delivery(customer, i, route, body(example, order, day), "canonical",
                     f"evt-{customer}-{i}")
            for i, (route, example, order, day) in enumerate(steps)]


def shopify(n, variant):
    customer = str(7_391_000_000_000 + n)
    email = f"klant{n:05d}@example.nl"
    orders = [str(5_913_000_000_000 + 2 * n), str(5_913_000_000_001 + 2 * n)]

    def body(fixture, day):
        text = moved_to_stop(read(os.path.join(FIXTURES, "shopify", fixture + ".json")), day)
        # Every id an event key is made of is the customer's own (fulfillment, refund).
        text = replaced(text, [("5912345678901", orders[0]), ("5912345678999", orders[1]),
                               ("5300000000001", str(5_301_000_000_000 + n)),
                               ("9600000000001", str(9_601_000_000_000 + n)),
                               ("9700000000001", str(9_701_000_000_000 + n)),
                               ("7700000000011", str(7_701_000_000_000 + n)),
                               ("3100000001", str(3_101_000_000 + n)),
                               ("7390412345678", customer), ("anna.devries@example.nl", email),
                               ("Prinsengracht 263", f"Prinsengracht {n + 1}"),
                               ("Oudegracht 158", f"Oudegracht {n + 1}")])
        return json.dumps(json.loads(text)).encode()

    third = (("order-returned", "refunds/create", "refunds-create-partial") if variant == "return"
             else ("address-changed", "customers/update", "customers-update-moved"))
    steps = [("order-placed", "orders/create", "orders-create", PLACED),
             ("order-delivered", "fulfillments/update", "fulfillments-update-delivered", DELIVERED),
             (*third, RETURNED_OR_MOVED),
             ("order-placed", "orders/create", "orders-create-no-marketing", AGAIN)]
    deliveries = []
    for i, (route, topic, fixture, day) in enumerate(steps):
        d = Delivery(customer, i, route, body(fixture, day), "shopify", f"load-{customer}-{i}")
        d.topic = topic
        deliveries.append(d)
    return deliveries


def woocommerce(n, variant):
    customer = 100_000 + n
    email = f"klant{n:05d}@example.nl"
    orders = [200_000 + 2 * n, 200_001 + 2 * n]

    def body(fixture, day, order=None):
        text = moved_to_stop(read(os.path.join(FIXTURES, "woocommerce", fixture + ".json")), day)
        text = replaced(text, [("anna.devries@example.nl", email),
                               ("Prinsengracht 263", f"Prinsengracht {n + 1}"),
                               ("Oudegracht 158", f"Oudegracht {n + 1}")])
        data = json.loads(text)
        if order is None:
            data["id"] = customer
        else:
            data["id"] = order
            data["number"] = str(order)
            data["customer_id"] = customer
        return json.dumps(data).encode()

    third = (("order-returned", "order.updated", "order-updated-partial-refund", orders[0])
             if variant == "return"
             else ("address-changed", "customer.updated", "customer-updated-moved", None))
    steps = [("order-placed", "order.created", "order-created", orders[0], PLACED),
             ("order-delivered", "order.updated", "order-updated-completed", orders[0], DELIVERED),
             (*third, RETURNED_OR_MOVED),
             ("order-placed", "order.created", "order-created", orders[1], AGAIN)]
    deliveries = []
    for i, (route, topic, fixture, order, day) in enumerate(steps):
        d = Delivery(f"woo-{customer}", i, route, body(fixture, day, order), "woocommerce",
                     f"load-woo-{customer}-{i}")
        d.topic = topic
        deliveries.append(d)
    return deliveries


def generate(customers, seed):
    """Every customer's deliveries, in the order of their story; the same for the same seed."""
    rng = random.Random(seed)
    journeys = []
    for n in range(customers):
        variant = "return" if rng.random() < 0.5 else "move"
        dialect = rng.choices([canonical, shopify, woocommerce], weights=[6, 2, 2])[0]
        journeys.append(dialect(n, variant))
    return journeys
