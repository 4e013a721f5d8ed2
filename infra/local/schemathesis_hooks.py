"""Schemathesis hooks for the contract test (infra/local/contract-test.sh) against the local stack.

Without them every generated webhook stops at the signature check and every link at the token
check, so the parsers behind them would never be tested. They keep the generated data and add
only what a real client holds and a generator cannot guess:

- webhooks: each request is signed per Standard Webhooks over the exact bytes sent, with the
  demo shop's secret and a fresh timestamp (the `webhook-id` stays the generated one); a case
  whose headers are deliberately invalid is sent unsigned, as generated;
- the `shop` of a schema-valid case is the demo shop, and a schema-valid link token is a real
  one of its kind (signed with the local link secret), so valid input reaches the handlers;
- the marketers' export: a session from a login through the form (form token and all);
- the loyalty API: the demo shop's API key as the bearer, the seeded customer in the path, and
  a redemption to cancel made with a known idempotency key (its id follows from the key);
- GET changes nothing: around every GET the table's stream is read (after it has settled), and
  any write, even one that changes nothing, fails the run.
"""

import base64
import datetime
import functools
import hashlib
import hmac
import os
import re
import sys
import time
import urllib.parse
import urllib.request

import boto3
import requests
import schemathesis
from schemathesis import GenerationMode

BASE_URL = os.environ["CONTRACT_BASE_URL"]
SHOP = "demo"
WEBHOOK_SECRET = os.environ["DEMO_WEBHOOK_SECRET"]
LINK_SECRET = os.environ["LINK_SECRET"].encode()
ADMIN_USER = os.environ["ADMIN_USER"]
ADMIN_PASSWORD = os.environ["ADMIN_PASSWORD"]
# The customer and order the seeded example event creates.
CUSTOMER = "cus-8812"
ORDER = "NL-100482"
WEBHOOKS = ("orderPlaced", "orderDelivered", "orderReturned", "addressChanged", "productChanged")
LOYALTY_API_KEY = os.environ["DEMO_LOYALTY_API_KEY"]
LOYALTY = (
    "adjustPoints",
    "getLoyaltyBalance",
    "listLoyaltyTransactions",
    "redeemPoints",
    "cancelRedemption",
    "addRewardCodes",
    "setBirthday",
)
# The idempotency key of the redemption the cancel operation's valid cases name.
CANCEL_KEY = "contract-cancel"


def redemption_id(customer, key):
    return "rd_" + hashlib.sha256(f"{customer}\n{key}".encode()).hexdigest()[:24]


def _positive(case, location):
    component = case.meta.components.get(location) if case.meta else None
    return component is None or component.mode == GenerationMode.POSITIVE


# --- Standard Webhooks signing -------------------------------------------------------------


class StandardWebhooksSignature(requests.auth.AuthBase):
    """Signs the prepared request, so the signature covers exactly the bytes on the wire."""

    def __init__(self, secret):
        self.key = base64.b64decode(secret.removeprefix("whsec_"))

    def __call__(self, request):
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        webhook_id = request.headers.get("webhook-id", "")
        timestamp = str(int(time.time()))
        signed = f"{webhook_id}.{timestamp}.".encode() + body
        mac = base64.b64encode(hmac.new(self.key, signed, hashlib.sha256).digest()).decode()
        request.headers["webhook-timestamp"] = timestamp
        request.headers["webhook-signature"] = f"v1,{mac}"
        return request


@schemathesis.auth().apply_to(operation_id=list(WEBHOOKS))
class SignedWebhooks:
    def get(self, case, ctx):
        return StandardWebhooksSignature(WEBHOOK_SECRET)

    def set(self, case, signer, ctx):
        from schemathesis.core.parameters import ParameterLocation

        headers = case.headers or {}
        # Headers generated to be invalid (missing, wrong type) must reach the server as they are.
        if _positive(case, ParameterLocation.HEADER) and isinstance(headers.get("webhook-id"), str):
            case._auth = signer


# --- Link tokens, as LinkKey (shared/src/mail/links.rs) signs them -----------------------------


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def link_token(version, shop, *parts):
    derive = hmac.new(LINK_SECRET, b"trouw-links-v1\x1f" + shop.encode(), hashlib.sha256)
    payload = "\x1f".join((version, shop, *parts)).encode()
    mac = hmac.new(derive.digest(), payload, hashlib.sha256).digest()
    return f"{_b64url(payload)}.{_b64url(mac)}"


TOKENS = {
    "showPreferences": link_token("u1", SHOP, CUSTOMER),
    "unsubscribe": link_token("u1", SHOP, CUSTOMER),
    "showSurveyAnswer": link_token("s1", SHOP, CUSTOMER, ORDER),
    "answerSurvey": link_token("s1", SHOP, CUSTOMER, ORDER),
    "showReactivation": link_token("r1", SHOP, CUSTOMER),
    "answerReactivation": link_token("r1", SHOP, CUSTOMER),
}


def _years_before(day, years):
    """The same day `years` earlier; 29 February becomes the 28th (as jiff subtracts years)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _export_query(query):
    """The export's rules across parameters and the clock, which a schema cannot state: a shop
    of this view, a cursor from this very list, `from` not after `to` and at most 366 days
    before it, and neither more than five years ago (shared/src/admin/filters.rs, `period`)."""
    query["shop"] = SHOP
    query.pop("cursor", None)
    # The API's today is the shop's, up to a day off this machine's: every bound that rests on
    # it keeps a day's slack, so a run near midnight cannot land on an edge.
    today, slack = datetime.date.today(), datetime.timedelta(days=1)
    floor = _years_before(today, 5) + slack
    day = lambda name: datetime.date.fromisoformat(query[name]) if query.get(name) else None
    if (day("to") or today) < floor:
        query.pop("to")
    start, end = day("from"), day("to")
    if end is None:
        lowest, highest = today + slack - datetime.timedelta(days=366), today - slack
    else:
        lowest, highest = end - datetime.timedelta(days=366), end
    if start is not None and not (max(lowest, floor) <= start <= highest):
        query.pop("from")
    return query


@schemathesis.hook
def map_case(context, case):
    from schemathesis.core.parameters import ParameterLocation

    operation = case.operation.definition.raw.get("operationId")
    if case.path_parameters and _positive(case, ParameterLocation.PATH):
        if operation in WEBHOOKS:
            case.path_parameters["shop"] = SHOP
        if operation in TOKENS:
            case.path_parameters["token"] = TOKENS[operation]
    if operation in LOYALTY and case.path_parameters and _positive(case, ParameterLocation.PATH):
        case.path_parameters["shop"] = SHOP
        if "customer" in case.path_parameters:
            case.path_parameters["customer"] = CUSTOMER
        if operation == "cancelRedemption":
            case.path_parameters["redemption"] = _redemption_to_cancel()
    if operation == "listMessages" and _positive(case, ParameterLocation.QUERY):
        case.query = _export_query(dict(case.query or {}))
    return case


# --- The loyalty API: the shop's key --------------------------------------------------------------


def _loyalty(method, path, body=None, headers=None):
    return requests.request(
        method,
        f"{BASE_URL}/loyalty/{SHOP}/{path}",
        json=body,
        headers={"authorization": f"Bearer {LOYALTY_API_KEY}", **(headers or {})},
        timeout=30,
    )


def _redemption_to_cancel():
    """A redemption of the seeded customer, made once with CANCEL_KEY (points granted first)."""
    if not getattr(_redemption_to_cancel, "done", False):
        _loyalty(
            "POST",
            f"customers/{CUSTOMER}/adjustments",
            {"points": 500, "reason": "contract"},
            {"idempotency-key": "contract-grant"},
        )
        made = _loyalty(
            "POST", f"customers/{CUSTOMER}/redemptions", {"reward": "r5"}, {"idempotency-key": CANCEL_KEY}
        )
        if made.status_code != 201:
            raise RuntimeError(f"the redemption to cancel was refused: {made.status_code} {made.text}")
        _redemption_to_cancel.done = True
    return redemption_id(CUSTOMER, CANCEL_KEY)


@schemathesis.auth().apply_to(operation_id=list(LOYALTY))
class LoyaltyKey:
    def get(self, case, ctx):
        return LOYALTY_API_KEY

    def set(self, case, key, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}


# --- The marketers' session: a login through the form ------------------------------------------


def log_in():
    session = requests.Session()
    form = session.get(f"{BASE_URL}/admin/login", timeout=30)
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    answer = session.post(
        f"{BASE_URL}/admin/login",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "next": "/admin", "csrf": token},
        allow_redirects=False,
        timeout=30,
    )
    cookie = session.cookies.get("trouw_session")
    if answer.status_code not in (200, 303) or not cookie:
        raise RuntimeError(f"the login through the form failed: {answer.status_code}")
    return cookie


@schemathesis.auth().apply_to(operation_id="listMessages")
class MarketerSession:
    def get(self, case, ctx):
        return log_in()

    def set(self, case, cookie, ctx):
        case.cookies = {**(case.cookies or {}), "trouw_session": cookie}


# --- GET changes nothing -------------------------------------------------------------------------

AWS_ENDPOINT = os.environ.get("CONTRACT_AWS_ENDPOINT")
TABLE = os.environ.get("TABLE_NAME", "trouw-contract")
# The writes a GET of the export is documented to make: the audit of each download, and the
# count of failed logins (wrong Basic credentials) that makes a guesser wait.
RECORDED_BY_GET = {"listMessages": lambda pk: pk.endswith("#AUDIT") or pk.startswith("LOGIN#")}


def _client(service):
    return boto3.client(
        service,
        endpoint_url=AWS_ENDPOINT,
        region_name="eu-west-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


_dynamodb = _client("dynamodb") if AWS_ENDPOINT else None
_streams = _client("dynamodbstreams") if AWS_ENDPOINT else None
_before = {}


def _settle():
    """Waits until the stream has delivered what earlier requests caused (the sender's writes)."""
    settle = urllib.request.Request(f"{BASE_URL}/dev/settle", method="POST", data=b"")
    with urllib.request.urlopen(settle, timeout=60) as answer:
        answer.read()


@functools.cache
def _stream_arn():
    return _dynamodb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]


def _shards():
    stream = _streams.describe_stream(StreamArn=_stream_arn())["StreamDescription"]
    return sorted(shard["ShardId"] for shard in stream["Shards"])


def _stream_ends():
    """Where each shard of the table's stream ends, once earlier requests have settled."""
    _settle()
    return {
        shard: _streams.get_shard_iterator(
            StreamArn=_stream_arn(), ShardId=shard, ShardIteratorType="LATEST"
        )["ShardIterator"]
        for shard in _shards()
    }


def _written_since(ends, operation):
    """The items written since `ends`, as (event, pk, sk): every write reaches the table's stream,
    one that changes nothing included, so a GET that writes at all is seen (reading the stream
    costs the same on any table, where comparing two scans grew with it)."""
    _settle()
    if _shards() != sorted(ends):
        raise AssertionError("the table's stream opened a shard during the GET: not compared")
    skipped = RECORDED_BY_GET.get(operation, lambda pk: False)
    written = []
    for iterator in ends.values():
        while iterator:
            page = _streams.get_records(ShardIterator=iterator, Limit=1000)
            for record in page["Records"]:
                keys = record["dynamodb"]["Keys"]
                if not skipped(keys["pk"]["S"]):
                    written.append((record["eventName"], keys["pk"]["S"], keys["sk"]["S"]))
            iterator = page.get("NextShardIterator") if page["Records"] else None
    return written


@schemathesis.hook
def before_call(context, case, kwargs):
    if _dynamodb is not None and case.method.upper() == "GET":
        _before[case.id] = _stream_ends()


@schemathesis.check
class GetChangesNothing:
    """A GET writes nothing to the table (mail scanners open every link). At the end, every
    operation that got a GET must have been checked at least once, so the check cannot pass by
    never running."""

    def __init__(self):
        self.compared = {}
        self.tested = set()

    def after_response(self, ctx, response, case):
        if case.method.upper() == "GET":
            self.tested.add(case.operation.definition.raw.get("operationId"))
        ends = _before.pop(case.id, None)
        if ends is None:
            return
        operation = case.operation.definition.raw.get("operationId")
        written = _written_since(ends, operation)
        self.compared.setdefault(operation, set()).add(case.id)
        if written:
            raise AssertionError(f"GET {case.path} wrote {len(written)} item(s), e.g. {written[0]}")

    def after_run(self, ctx):
        if _dynamodb is None:
            return
        missing = self.tested - self.compared.keys()
        if missing:
            raise AssertionError(f"GETs never checked: {', '.join(sorted(missing))}")
        counts = ", ".join(f"{op} {len(ids)}" for op, ids in sorted(self.compared.items()))
        print(f"contract: GETs checked for writes on the table's stream: {counts}", file=sys.stderr)


@schemathesis.check
class EveryOperationReachesItsHandler:
    """Each operation answered 2xx at least once: valid webhooks got past the signature check
    into the parser and the store, valid tokens and sessions into their pages."""

    def __init__(self):
        self.tested = set()
        self.reached = set()

    def after_response(self, ctx, response, case):
        self.tested.add(case.operation.label)
        if 200 <= response.status_code < 300:
            self.reached.add(case.operation.label)

    def after_run(self, ctx):
        never = self.tested - self.reached
        if never:
            raise AssertionError("never answered 2xx: " + ", ".join(sorted(never)))
