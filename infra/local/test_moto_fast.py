"""Checks infra/local/moto_fast.py against moto itself and against DynamoDB's documented rules.

Run: .venv/bin/python -m unittest discover -s infra/local -p 'test_*.py'   (part of make test)
"""

import os
import random
import sys
import unittest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import boto3  # noqa: E402
import moto  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from moto import mock_aws  # noqa: E402

import moto_fast  # noqa: E402
from moto.dynamodb.models.table import Table  # noqa: E402

moto_fast.install()

TABLE = "t"


def create_table(ddb):
    """The shape of trouw's table: pk/sk, a sharded due index, a log index, an email index."""
    ddb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in (
            ("pk", "S"), ("sk", "S"), ("due_shard", "S"), ("due_at", "N"),
            ("log_day", "S"), ("log_at", "N"), ("email_hash", "S"))],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {"IndexName": "due", "Projection": {"ProjectionType": "KEYS_ONLY"},
             "KeySchema": [{"AttributeName": "due_shard", "KeyType": "HASH"},
                           {"AttributeName": "due_at", "KeyType": "RANGE"}]},
            {"IndexName": "by_day", "Projection": {"ProjectionType": "ALL"},
             "KeySchema": [{"AttributeName": "log_day", "KeyType": "HASH"},
                           {"AttributeName": "log_at", "KeyType": "RANGE"}]},
            {"IndexName": "by_email", "Projection": {"ProjectionType": "KEYS_ONLY"},
             "KeySchema": [{"AttributeName": "email_hash", "KeyType": "HASH"}]},
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})


def S(v):
    return {"S": v}


def N(v):
    return {"N": str(v)}


class StreamReader:
    def __init__(self, ddb):
        self.streams = boto3.client("dynamodbstreams", region_name="eu-west-1")
        arn = ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
        shard = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
        self.arn, self.shard = arn, shard["ShardId"]

    def records(self):
        iterator = self.streams.get_shard_iterator(
            StreamArn=self.arn, ShardId=self.shard,
            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        return self.streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]


@mock_aws
class CancelledTransactions(unittest.TestCase):
    def setUp(self):
        self.ddb = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(self.ddb)
        for sk, extra in (("A", {"due_shard": S("D#1"), "due_at": N(100), "n": N(1)}),
                          ("B", {"log_day": S("day-1"), "log_at": N(5)}),
                          ("C", {"email_hash": S("h1"), "v": N(1)})):
            self.ddb.put_item(TableName=TABLE, Item={"pk": S("p"), "sk": S(sk), **extra})

    def state(self):
        items = self.ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                               ExpressionAttributeValues={":p": S("p")})["Items"]
        due = self.ddb.query(TableName=TABLE, IndexName="due",
                             KeyConditionExpression="due_shard = :s AND due_at <= :t",
                             ExpressionAttributeValues={":s": S("D#1"), ":t": N(1000)})["Items"]
        days = self.ddb.query(TableName=TABLE, IndexName="by_day",
                              KeyConditionExpression="log_day = :d",
                              ExpressionAttributeValues={":d": S("day-1")})["Items"]
        return items, due, days

    def transaction(self, last_condition_holds):
        self.ddb.transact_write_items(TransactItems=[
            # Creates D, in the due and log indexes.
            {"Put": {"TableName": TABLE, "Item": {
                "pk": S("p"), "sk": S("D"), "due_shard": S("D#1"), "due_at": N(50),
                "log_day": S("day-1"), "log_at": N(9)},
                "ConditionExpression": "attribute_not_exists(pk)"}},
            # Moves A out of the due index and changes it.
            {"Update": {"TableName": TABLE, "Key": {"pk": S("p"), "sk": S("A")},
                        "UpdateExpression": "SET n = n + :one REMOVE due_shard, due_at",
                        "ExpressionAttributeValues": {":one": N(1)}}},
            # Removes B from the table and the log index.
            {"Delete": {"TableName": TABLE, "Key": {"pk": S("p"), "sk": S("B")}}},
            {"ConditionCheck": {"TableName": TABLE, "Key": {"pk": S("p"), "sk": S("C")},
                                "ConditionExpression": "v = :v",
                                "ExpressionAttributeValues": {
                                    ":v": N(1 if last_condition_holds else 2)}}},
        ])

    def test_a_cancelled_transaction_changes_no_item_index_or_stream(self):
        stream = StreamReader(self.ddb)
        before, records_before = self.state(), stream.records()
        with self.assertRaises(ClientError) as cancelled:
            self.transaction(last_condition_holds=False)
        error = cancelled.exception.response
        self.assertEqual(error["Error"]["Code"], "TransactionCanceledException")
        self.assertEqual([r["Code"] for r in error["CancellationReasons"]],
                         ["None", "None", "None", "ConditionalCheckFailed"])
        self.assertEqual(self.state(), before)
        self.assertEqual(len(stream.records()), len(records_before))

    def test_a_committed_transaction_changes_items_indexes_and_stream(self):
        stream = StreamReader(self.ddb)
        records_before = len(stream.records())
        self.transaction(last_condition_holds=True)
        items, due, days = self.state()
        self.assertEqual([i["sk"]["S"] for i in items], ["A", "C", "D"])
        self.assertEqual(items[0]["n"], N(2))
        self.assertEqual([i["sk"]["S"] for i in due], ["D"])
        self.assertEqual([i["sk"]["S"] for i in days], ["D"])
        self.assertEqual([r["eventName"] for r in stream.records()[records_before:]],
                         ["INSERT", "MODIFY", "REMOVE"])

    def test_one_item_twice_in_a_transaction_is_refused_and_changes_nothing(self):
        before = self.state()
        with self.assertRaises(ClientError) as refused:
            self.ddb.transact_write_items(TransactItems=[
                {"Delete": {"TableName": TABLE, "Key": {"pk": S("p"), "sk": S("B")}}},
                {"Update": {"TableName": TABLE, "Key": {"pk": S("p"), "sk": S("B")},
                            "UpdateExpression": "SET x = :x",
                            "ExpressionAttributeValues": {":x": N(1)}}}])
        self.assertEqual(refused.exception.response["Error"]["Code"], "ValidationException")
        self.assertEqual(self.state(), before)

    def test_all_old_is_returned_for_the_failed_condition(self):
        with self.assertRaises(ClientError) as cancelled:
            self.ddb.transact_write_items(TransactItems=[
                {"ConditionCheck": {"TableName": TABLE, "Key": {"pk": S("p"), "sk": S("C")},
                                    "ConditionExpression": "attribute_not_exists(pk)",
                                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}])
        reason = cancelled.exception.response["CancellationReasons"][0]
        self.assertEqual(reason["Code"], "ConditionalCheckFailed")
        self.assertEqual(reason["Item"]["v"], N(1))


@mock_aws
class Stream(unittest.TestCase):
    def test_an_update_that_creates_an_item_is_one_insert_with_the_whole_item(self):
        ddb = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(ddb)
        stream = StreamReader(ddb)
        for x in (1, 2):
            ddb.update_item(TableName=TABLE, Key={"pk": S("a"), "sk": S("b")},
                            UpdateExpression="SET x = :x", ExpressionAttributeValues={":x": N(x)})
        ddb.put_item(TableName=TABLE, Item={"pk": S("a"), "sk": S("c")})
        records = stream.records()
        self.assertEqual([r["eventName"] for r in records], ["INSERT", "MODIFY", "INSERT"])
        self.assertEqual(records[0]["dynamodb"]["NewImage"],
                         {"pk": S("a"), "sk": S("b"), "x": N(1)})
        numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
        self.assertEqual(numbers, list(range(numbers[0], numbers[0] + 3)))


@mock_aws
class StreamReads(unittest.TestCase):
    def test_records_read_as_moto_serializes_them(self):
        ddb = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(ddb)
        stream = StreamReader(ddb)
        every_type = {"pk": S("a"), "sk": S("b"), "s": S("é ✓ \" \\ \n"), "n": N("-1.50"),
                      "b": {"B": b"\x00\xffbin"}, "ss": {"SS": ["x", "y"]},
                      "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": [b"\x01", b"\x02"]},
                      "t": {"BOOL": True}, "f": {"BOOL": False}, "z": {"NULL": True},
                      "m": {"M": {"inner": {"L": [N(1), {"B": b"\x03"}, {"M": {}}, {"L": []},
                                                  {"SS": ["q"]}, {"NULL": True}]}}},
                      "empty_s": S("")}
        ddb.put_item(TableName=TABLE, Item=every_type)
        ddb.update_item(TableName=TABLE, Key={"pk": S("a"), "sk": S("b")},
                        UpdateExpression="SET n = :n REMOVE b", ExpressionAttributeValues={":n": N(7)})
        ddb.update_item(TableName=TABLE, Key={"pk": S("new"), "sk": S("c")},
                        UpdateExpression="SET x = :x", ExpressionAttributeValues={":x": N(1)})
        ddb.delete_item(TableName=TABLE, Key={"pk": S("a"), "sk": S("b")})
        ways = []
        wire_records = moto_fast.wire_records

        def spy(result):
            try:
                written = wire_records(result)
            except moto_fast.WireShapeUnknown:
                ways.append("moto's serializer")
                raise
            ways.append("straight")
            return written

        moto_fast.wire_records = spy
        try:
            fast = stream.records()
        finally:
            moto_fast.wire_records = wire_records
        self.assertEqual(ways, ["straight"])
        moto_fast.fast_stream_records = False
        try:
            serialized_by_moto = stream.records()
        finally:
            moto_fast.fast_stream_records = True
        self.assertEqual(len(fast), 4)
        self.assertEqual(fast, serialized_by_moto)
        self.assertEqual(fast[0]["dynamodb"]["NewImage"]["b"], {"B": b"\x00\xffbin"})


@mock_aws
class NarrowedQueries(unittest.TestCase):
    """Random writes of every kind, then the same queries answered by moto's walk over every
    item and by the index partitions: the same pages, in the same order, with the same
    LastEvaluatedKey."""

    def setUp(self):
        self.ddb = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(self.ddb)
        self.rng = random.Random(4)

    def random_item(self, pk, sk):
        rng = self.rng
        item = {"pk": S(pk), "sk": S(sk), "body": S("x" * rng.randrange(0, 50))}
        if rng.random() < 0.7:
            item["due_shard"] = S(f"D#{rng.randrange(3)}")
            item["due_at"] = N(rng.choice([rng.randrange(0, 50), "7.50", "-3", "1e2"]))
        if rng.random() < 0.5:
            item["log_day"] = S(f"day-{rng.randrange(3)}")
            item["log_at"] = N(rng.randrange(0, 20))  # many equal sort values
        if rng.random() < 0.3:
            item["email_hash"] = S(f"h{rng.randrange(4)}")
        return item

    def write_randomly(self, n):
        rng = self.rng
        keys = [(f"p{rng.randrange(8)}", f"s{i}") for i in range(60)]
        for _ in range(n):
            pk, sk = rng.choice(keys)
            action = rng.random()
            if action < 0.4:
                self.ddb.put_item(TableName=TABLE, Item=self.random_item(pk, sk))
            elif action < 0.55:
                self.ddb.delete_item(TableName=TABLE, Key={"pk": S(pk), "sk": S(sk)})
            elif action < 0.75:
                self.ddb.update_item(
                    TableName=TABLE, Key={"pk": S(pk), "sk": S(sk)},
                    UpdateExpression="SET due_shard = :s, due_at = :t, log_day = :d",
                    ExpressionAttributeValues={":s": S(f"D#{rng.randrange(3)}"),
                                               ":t": N(rng.randrange(60)),
                                               ":d": S(f"day-{rng.randrange(3)}")})
            elif action < 0.85:
                self.ddb.update_item(TableName=TABLE, Key={"pk": S(pk), "sk": S(sk)},
                                     UpdateExpression="REMOVE due_at, email_hash")
            elif action < 0.92:
                batch = {(p, s): None for p, s in rng.sample(keys, 5)}
                self.ddb.batch_write_item(RequestItems={TABLE: [
                    {"PutRequest": {"Item": self.random_item(p, s)}} for p, s in batch]})
            else:
                picked = rng.sample(keys, 3)
                try:
                    self.ddb.transact_write_items(TransactItems=[
                        {"Put": {"TableName": TABLE, "Item": self.random_item(*picked[0])}},
                        {"Update": {"TableName": TABLE,
                                    "Key": {"pk": S(picked[1][0]), "sk": S(picked[1][1])},
                                    "UpdateExpression": "SET log_day = :d, log_at = :a",
                                    "ExpressionAttributeValues": {":d": S("day-0"),
                                                                  ":a": N(3)}}},
                        {"Delete": {"TableName": TABLE,
                                    "Key": {"pk": S(picked[2][0]), "sk": S(picked[2][1])},
                                    "ConditionExpression": "attribute_exists(body)"}}])
                except ClientError as e:
                    self.assertEqual(e.response["Error"]["Code"],
                                     "TransactionCanceledException")

    def pages(self, **query):
        pages, start = [], None
        while True:
            args = dict(query, TableName=TABLE)
            if start:
                args["ExclusiveStartKey"] = start
            answer = self.ddb.query(**args)
            pages.append((answer["Items"], answer["Count"], answer.get("LastEvaluatedKey")))
            start = answer.get("LastEvaluatedKey")
            if not start or len(pages) > 100:
                return pages

    def queries(self):
        for shard in ("D#0", "D#1", "D#2", "D#9"):
            for cond, values in (("due_at <= :t", {":t": N(25)}),
                                 ("due_at < :t", {":t": N("7.5")}),
                                 ("due_at >= :t", {":t": N(10)}),
                                 ("due_at > :t", {":t": N(-3)}),
                                 ("due_at = :t", {":t": N(100)}),
                                 ("due_at BETWEEN :t AND :u", {":t": N(5), ":u": N(30)}),
                                 ("due_at BETWEEN :u AND :t", {":t": N(5), ":u": N(30)})):
                for limit in (None, 2):
                    for forward in (True, False):
                        query = dict(IndexName="due",
                                     KeyConditionExpression=f"due_shard = :s AND {cond}",
                                     ExpressionAttributeValues={":s": S(shard), **values},
                                     ScanIndexForward=forward)
                        if limit:
                            query["Limit"] = limit
                        yield query
        for day in ("day-0", "day-1", "day-7"):
            for limit in (None, 2):
                query = dict(IndexName="by_day", KeyConditionExpression="log_day = :d",
                             ExpressionAttributeValues={":d": S(day)}, ScanIndexForward=False)
                if limit:
                    query["Limit"] = limit
                yield query
            yield dict(IndexName="by_day",
                       KeyConditionExpression="log_day = :d AND log_at BETWEEN :a AND :b",
                       FilterExpression="attribute_exists(due_at)",
                       ExpressionAttributeValues={":d": S(day), ":a": N(2), ":b": N(12)})
        for h in ("h0", "h1", "h3", "none"):
            yield dict(IndexName="by_email", KeyConditionExpression="email_hash = :h",
                       ExpressionAttributeValues={":h": S(h)})
        for p in ("p0", "p3", "p7", "nobody"):
            yield dict(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": S(p)})
            yield dict(KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                       ExpressionAttributeValues={":p": S(p), ":s": S("s1")}, Limit=2)

    def same_answers(self):
        checked = 0
        for query in self.queries():
            moto_fast.narrow_queries = False
            try:
                walked = self.pages(**query)
            finally:
                moto_fast.narrow_queries = True
            self.assertEqual(self.pages(**query), walked, query)
            checked += 1
        return checked

    def test_narrowed_queries_answer_as_moto_does(self):
        for _ in range(3):
            self.write_randomly(120)
            self.assertGreater(self.same_answers(), 80)


@mock_aws
class CostDoesNotGrowWithTheTable(unittest.TestCase):
    """moto's own ways, which cost time in proportion to the table, are not taken."""

    def setUp(self):
        self.ddb = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(self.ddb)
        for i in range(200):
            self.ddb.put_item(TableName=TABLE, Item={
                "pk": S(f"p{i}"), "sk": S("s"), "due_shard": S(f"D#{i % 3}"), "due_at": N(i),
                "log_day": S("day-1"), "log_at": N(i)})
        self.walks = []
        self.copies = []
        self.original_all_items = Table.all_items
        Table.all_items = lambda table: self.walks.append(table.name) or self.original_all_items(table)
        Table.__deepcopy__ = lambda table, memo: self.copies.append(table.name)

    def tearDown(self):
        Table.all_items = self.original_all_items
        del Table.__deepcopy__

    def test_a_query_reads_only_the_asked_partition(self):
        due = self.ddb.query(TableName=TABLE, IndexName="due",
                             KeyConditionExpression="due_shard = :s AND due_at < :t",
                             ExpressionAttributeValues={":s": S("D#1"), ":t": N(10)})
        self.assertEqual([i["pk"]["S"] for i in due["Items"]], ["p1", "p4", "p7"])
        own = self.ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                             ExpressionAttributeValues={":p": S("p5")})
        self.assertEqual(own["Count"], 1)
        self.assertEqual(self.walks, [])

    def test_a_transaction_copies_no_table(self):
        with self.assertRaises(ClientError):
            self.ddb.transact_write_items(TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {"pk": S("new"), "sk": S("s")}}},
                {"ConditionCheck": {"TableName": TABLE, "Key": {"pk": S("p1"), "sk": S("s")},
                                    "ConditionExpression": "attribute_not_exists(pk)"}}])
        self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {"pk": S("new"), "sk": S("s")}}}])
        self.assertEqual(self.copies, [])


@mock_aws
class Items(unittest.TestCase):
    def test_the_item_size_limit_is_kept(self):
        ddb = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(ddb)
        ddb.put_item(TableName=TABLE, Item={"pk": S("p"), "sk": S("ok"),
                                            "a": S("x" * 200_000), "b": S("y" * 200_000)})
        with self.assertRaises(ClientError) as refused:
            ddb.put_item(TableName=TABLE, Item={"pk": S("p"), "sk": S("big"),
                                                "a": S("x" * 300_000), "b": S("y" * 200_000)})
        self.assertEqual(refused.exception.response["Error"]["Code"], "ValidationException")


class Pinning(unittest.TestCase):
    def test_another_moto_version_is_refused(self):
        pinned = moto.__version__
        moto.__version__ = "5.2.6"
        try:
            with self.assertRaises(moto_fast.MotoChanged):
                moto_fast.check_moto()
        finally:
            moto.__version__ = pinned
        moto_fast.check_moto()


if __name__ == "__main__":
    unittest.main()
