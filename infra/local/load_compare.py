"""What a run of `make load` left behind, and the checks of the faults run (README, "Faults at
20%") on it: every customer's stored state equal to a calm replay's, the emails SES accepted
the same with none sent twice, nothing left SENDING.

The expected state is a second, calm run: the same deliveries one at a time, no duplicates,
into a fresh stack whose clock stands at the same second (load_test.py). The product itself
says what four events make of a customer, item by item (profile, orders, order owners,
processed events, messages, activities, index attributes), so no rule of `decide` is written
twice here, and an attribute nobody thought of is compared too. Only `ses_message_id` differs
by nature (each moto numbers its emails); what it links is checked instead: each SENT message
names exactly one email SES accepted, and each email is named by exactly one SENT message.
"""

import json

# Attributes whose value is the emulator's, not trouw's: the id moto's SES gave the email.
RUN_DEPENDENT = {"ses_message_id"}


def dynamodb(endpoint):
    import boto3
    from botocore.config import Config
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="eu-west-1",
                        aws_access_key_id="local", aws_secret_access_key="local",
                        config=Config(read_timeout=300, retries={"max_attempts": 2}))


def snapshot(moto, table, request_json):
    """Every item of `table` keyed by "pk|sk", and the emails moto's SES accepted.
    `request_json(url)` reads a URL as JSON (the caller's HTTP client)."""
    ddb = dynamodb(moto)
    items = {}
    for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            items[f"{item['pk']['S']}|{item['sk']['S']}"] = item
    emails = request_json(f"{moto}/_trouw/ses-messages.json")["ses"]["RawMessage"]
    return {"items": items, "emails": emails}


def subject(raw):
    for line in raw.splitlines():
        if line.startswith("Subject: "):
            return line[len("Subject: "):]
        if not line:
            break
    return ""


def comparable(item):
    return json.dumps({k: v for k, v in item.items() if k not in RUN_DEPENDENT}, sort_keys=True)


def status_of(item):
    return item.get("status", {}).get("S")


def mail_facts(run):
    """The run's emails against its message items."""
    sent = {key: item for key, item in run["items"].items() if status_of(item) == "SENT"}
    named = {}
    for key, item in sent.items():
        named.setdefault(item.get("ses_message_id", {}).get("S"), []).append(key)
    ids = [m["id"] for m in run["emails"]]
    pairs = {}
    for m in run["emails"]:
        pair = (",".join(m["destinations"]), subject(m["raw_data"]))
        pairs[pair] = pairs.get(pair, 0) + 1
    statuses = {}
    for item in run["items"].values():
        if item.get("item", {}).get("S") == "message":
            statuses[status_of(item)] = statuses.get(status_of(item), 0) + 1
    return {
        "statuses": statuses,
        "emails": len(ids),
        "sent_records": len(sent),
        "sending": sorted(k for k, i in run["items"].items() if status_of(i) == "SENDING"),
        "pending": sorted(k for k, i in run["items"].items() if status_of(i) == "PENDING"),
        # An email no SENT message names: sent a second time, or never recorded.
        "unnamed_emails": sorted(i for i in ids if i not in named),
        # A SENT message whose email moto does not have, or that shares its email.
        "sent_without_email": sorted(k for i, keys in named.items() for k in keys
                                     if i not in set(ids) or len(keys) > 1),
        "repeated_ids": sorted({i for i in ids if ids.count(i) > 1}),
        "pairs": pairs,
    }


def compare(loaded, calm):
    """The differences between the loaded run and the calm replay, and both runs' mail facts."""
    differences = []
    for key in sorted(set(loaded["items"]) | set(calm["items"])):
        a, b = loaded["items"].get(key), calm["items"].get(key)
        if a is None:
            differences.append(f"{key}: only in the calm replay: {comparable(b)}")
        elif b is None:
            differences.append(f"{key}: only under load: {comparable(a)}")
        elif comparable(a) != comparable(b):
            names = sorted(n for n in set(a) | set(b)
                           if n not in RUN_DEPENDENT and a.get(n) != b.get(n))
            differences.append(f"{key}: {', '.join(names)} differ:\n  load: "
                               f"{json.dumps({n: a.get(n) for n in names})}\n  calm: "
                               f"{json.dumps({n: b.get(n) for n in names})}")
    load_mail, calm_mail = mail_facts(loaded), mail_facts(calm)
    pairs_differ = sorted(
        f"{to} / {subj}: {load_mail['pairs'].get((to, subj), 0)} under load, "
        f"{calm_mail['pairs'].get((to, subj), 0)} calm"
        for to, subj in set(load_mail["pairs"]) | set(calm_mail["pairs"])
        if load_mail["pairs"].get((to, subj)) != calm_mail["pairs"].get((to, subj)))
    return {"differences": differences, "load_mail": load_mail, "calm_mail": calm_mail,
            "emails_differ": pairs_differ}
