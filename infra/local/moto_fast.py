"""Keeps moto's DynamoDB fast as the local table grows, with DynamoDB's results unchanged.

moto 5.2.5 spends time in proportion to the table, or to the stream behind it:
- TransactWriteItems deep-copies each table it touches, once per transaction item, so that it
  can put the copy back if a condition fails (a 4-item transaction on a 100,000-item table
  copies 400,000 items);
- Query walks every item of the table, for the table's own key as for an index, to find the
  few in one partition;
- GetRecords runs every attribute of every stream record through moto's model-driven
  serializer (seconds per 1,000 records), under the one lock;
so each webhook, each schedule pass (8 index queries every 5 s) and the stream consumer behind
an import cost seconds to minutes.

This module patches exactly those, narrowly:
- a transaction remembers the items it touches (a copy of each, before its first change) and
  the length of each table's stream, and on cancellation puts back exactly those items and
  drops the stream records it added: all-or-nothing, and no stream record of a cancelled
  transaction, as in DynamoDB. Requests still run one at a time (moto_server.py's lock).
- each table keeps, per secondary index, which items are in which index partition, in
  sort-key order, updated on every write (PutItem, UpdateItem, DeleteItem, batch,
  transaction, PartiQL all end in the patched writers); a Query hands moto's own query only
  the items the key condition can match, so moto still filters, sorts, pages and builds
  LastEvaluatedKey itself, with the same results.
- GetRecords answers are written straight as JSON, converted as moto's serializer does.
Two smaller ones ride along: an item is measured against the 400 KB limit once rather than
once per attribute, and an UpdateItem that creates an item writes one INSERT to the stream
(moto wrote a keys-only INSERT first).

The patch is pinned to moto 5.2.5: install() refuses to start if moto's version or the
shapes of the patched functions differ, rather than silently emulating something else.

Also here: TROUW_MOTO_PROFILE=DIR profiles every request with cProfile and keeps one
pstats file per action in DIR (see README, "Local performance").
"""

import base64
import bisect
import copy
import cProfile
import inspect
import json
import os
import pstats
import threading
import time

import moto
from botocore.utils import parse_to_aware_datetime
from moto.core.responses import ActionResult
from moto.core.serialize import TimestampSerializer
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    ItemSizeTooLarge,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodb.models.utilities import bytesize
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

PINNED_MOTO_VERSION = "5.2.5"

# The parameters of every function this module replaces or wraps, as in moto 5.2.5.
PINNED_SIGNATURES = {
    (DynamoDBBackend, "transact_write_items"): ["self", "transact_items"],
    (DynamoDBBackend, "update_item"): [
        "self", "table_name", "key", "update_expression", "expression_attribute_names",
        "expression_attribute_values", "attribute_updates", "expected",
        "condition_expression", "return_values_on_condition_check_failure"],
    (DynamoDBBackend, "get_keys_value"): ["self", "table", "keys"],
    (Table, "put_item"): [
        "self", "item_attrs", "expected", "condition_expression",
        "expression_attribute_names", "expression_attribute_values", "overwrite",
        "return_values_on_condition_check_failure"],
    (Table, "delete_item"): ["self", "hash_key", "range_key"],
    (Table, "query"): [
        "self", "hash_key", "range_comparison", "range_objs", "limit", "exclusive_start_key",
        "scan_index_forward", "projection_expressions", "index_name", "consistent_read",
        "filter_expression", "hash_key_conditions", "range_key_conditions", "filter_kwargs"],
    (Table, "all_items"): ["self"],
    (StreamShard, "add"): ["self", "old", "new"],
    (Item, "__init__"): ["self", "hash_key", "range_key", "attrs"],
    (DynamoDBStreamsHandler, "get_records"): ["self"],
    (ActionResult, "execute_result"): ["self", "context"],
    (TimestampSerializer, "_timestamp_unixtimestamp"): ["value"],
}

# moto's item size limit, as LimitedSizeDict.__setitem__ hard-codes it.
ITEM_SIZE_LIMIT = 405000

_installed = False
# moto's own functions, as they were before install().
_originals = {}

# Off: every Query walks the whole table as moto does (the tests compare both ways).
narrow_queries = True
# Off: GetRecords answers go through moto's own serializer (the tests compare both ways).
fast_stream_records = True


class MotoChanged(RuntimeError):
    """moto is not the version whose internals this module patches."""


def check_moto():
    if moto.__version__ != PINNED_MOTO_VERSION:
        raise MotoChanged(
            f"moto {moto.__version__} is installed; infra/local/moto_fast.py patches "
            f"moto {PINNED_MOTO_VERSION} (infra/local/requirements.txt): check its patches "
            "against the new moto before changing the pin")
    for (owner, name), expected in PINNED_SIGNATURES.items():
        function = _originals.get((owner, name)) or getattr(owner, name)
        params = list(inspect.signature(function).parameters)
        if params != expected:
            raise MotoChanged(f"moto's {owner.__name__}.{name}{params} is not the shape "
                              f"infra/local/moto_fast.py patches ({expected})")
    # The attributes the patches read and write, on a real table with a stream.
    probe = Table("probe", account_id="123456789012", region="eu-west-1",
                  schema=[{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "sk", "KeyType": "RANGE"}],
                  attr=[{"AttributeName": "pk", "AttributeType": "S"},
                        {"AttributeName": "sk", "AttributeType": "S"}],
                  streams={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    for attr in ("items", "stream_shard", "lambda_event_source_mappings", "global_indexes",
                 "indexes", "hash_key_attr", "range_key_attr"):
        if not hasattr(probe, attr):
            raise MotoChanged(f"moto's Table has no `{attr}`; infra/local/moto_fast.py needs it")
    if str(ITEM_SIZE_LIMIT) not in inspect.getsource(LimitedSizeDict.__setitem__):
        raise MotoChanged("moto's item size limit is no longer 405000")
    if not isinstance(probe.stream_shard.items, list):
        raise MotoChanged("moto's stream shard no longer keeps its records in a list")
    probe.stream_shard.add(None, Item(DynamoType({"S": "p"}), DynamoType({"S": "s"}),
                                      {"pk": {"S": "p"}, "sk": {"S": "s"}}))
    record = probe.stream_shard.items[0].record
    if record.get("eventName") != "INSERT" or "SequenceNumber" not in record.get("dynamodb", {}):
        raise MotoChanged("moto's stream records are no longer shaped as in moto 5.2.5")


def install():
    """Checks moto's shapes, then patches it. Idempotent."""
    global _installed
    if _installed:
        return
    check_moto()
    for owner, name in PINNED_SIGNATURES:
        _originals[(owner, name)] = getattr(owner, name)
    original_put = Table.put_item
    original_delete = Table.delete_item
    original_query = Table.query
    original_update = DynamoDBBackend.update_item
    original_transact = DynamoDBBackend.transact_write_items

    def put_item(self, item_attrs, *args, **kwargs):
        item = original_put(self, item_attrs, *args, **kwargs)
        reindex(self, item.hash_key, item.range_key)
        return item

    def delete_item(self, hash_key, range_key):
        try:
            return original_delete(self, hash_key, range_key)
        finally:
            reindex(self, hash_key, range_key)

    def update_item(self, table_name, key, *args, **kwargs):
        try:
            table = self.get_table(table_name)
            hash_key, range_key = self.get_keys_value(table, key)
        except Exception:  # moto answers the request's error itself
            return original_update(self, table_name, key, *args, **kwargs)
        created = stored(table, hash_key, range_key) is None
        shard = table.stream_shard
        records = len(shard.items) if shard is not None else 0
        try:
            item = original_update(self, table_name, key, *args, **kwargs)
        finally:
            # moto changes the stored item in place, and may have changed it before failing.
            reindex(table, hash_key, range_key)
        if created and shard is not None and not table.lambda_event_source_mappings:
            one_insert(shard, records)
        return item

    query_signature = inspect.signature(original_query)

    def query(self, *args, **kwargs):
        if not narrow_queries:
            return original_query(self, *args, **kwargs)
        bound = query_signature.bind(self, *args, **kwargs).arguments
        candidates = partition_items(self, bound)
        if candidates is None:
            return original_query(self, *args, **kwargs)
        # moto's query picks its matches from all_items(); it is handed only the partition's
        # items (a superset of the matches), and does everything else itself. One request runs
        # at a time, so no other request sees this instance attribute.
        self.all_items = lambda: candidates
        try:
            return original_query(self, *args, **kwargs)
        finally:
            del self.all_items

    def transact_write_items(self, transact_items):
        tables = [self.tables.get(op.get("TableName")) for entry in transact_items
                  for op in entry.values() if isinstance(op, dict)]
        if any(t is not None and t.lambda_event_source_mappings for t in tables):
            # moto hands stream records to its own Lambdas as they are written; a cancelled
            # transaction cannot take them back, so such tables keep moto's own behaviour.
            return original_transact(self, transact_items)
        return transact(self, transact_items)

    original_get_records = DynamoDBStreamsHandler.get_records

    def get_records(self):
        result = original_get_records(self)
        if fast_stream_records and type(result) is ActionResult:
            return StreamRecordsResult(result.result)
        return result

    DynamoDBStreamsHandler.get_records = get_records
    Item.__init__ = item_init
    Table.put_item = put_item
    Table.delete_item = delete_item
    Table.query = query
    DynamoDBBackend.update_item = update_item
    DynamoDBBackend.transact_write_items = transact_write_items
    _installed = True


def item_init(self, hash_key, range_key, attrs):
    """moto's Item, built in one pass. moto adds the attributes one by one, and each addition
    re-measures the whole item against the 400 KB limit (quadratic in its attributes, the
    largest cost of every write). Sizes are never negative, so measuring once at the end
    refuses exactly the items moto refuses."""
    self.hash_key = hash_key
    self.range_key = range_key
    values = {key: DynamoType(value) for key, value in attrs.items()}
    if sum(bytesize(key) + value.size() for key, value in values.items()) > ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge
    self.attrs = LimitedSizeDict()
    dict.update(self.attrs, values)


def one_insert(shard, first):
    """An UpdateItem that creates an item is one INSERT in DynamoDB's stream. moto writes two:
    the new item's keys alone, then the whole item. This drops the first and gives the second
    its sequence number, so the numbers stay consecutive."""
    added = shard.items[first:]
    if len(added) == 2 and all(r.record["eventName"] == "INSERT" for r in added):
        added[1].record["dynamodb"]["SequenceNumber"] = added[0].record["dynamodb"]["SequenceNumber"]
        del shard.items[first]


# --- Transactions -------------------------------------------------------------------------


def stored(table, hash_key, range_key):
    """The item stored under a key, or None, without creating moto's empty partitions."""
    partition = table.items.get(hash_key)
    if table.range_key_attr is None:
        return partition
    return partition.get(range_key) if partition else None


def store(table, hash_key, range_key, item):
    if table.range_key_attr is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
    elif item is None:
        partition = table.items.get(hash_key)
        if partition is not None:
            partition.pop(range_key, None)
    else:
        table.items[hash_key][range_key] = item


class Undo:
    """What a transaction has changed so far, to put back exactly that if it is cancelled."""

    def __init__(self):
        self.items = {}
        self.stream_lengths = {}

    def remember(self, table, hash_key, range_key):
        if id(table) not in self.stream_lengths:
            shard = table.stream_shard
            self.stream_lengths[id(table)] = (table, len(shard.items) if shard else 0)
        where = (id(table), hash_key, range_key)
        if where not in self.items:
            # A copy: UpdateItem changes the stored item in place.
            before = copy.deepcopy(stored(table, hash_key, range_key))
            self.items[where] = (table, hash_key, range_key, before)

    def put_back(self):
        for table, hash_key, range_key, before in self.items.values():
            store(table, hash_key, range_key, before)
            reindex(table, hash_key, range_key)
        for table, length in self.stream_lengths.values():
            if table.stream_shard is not None:
                del table.stream_shard.items[length:]


def key_of(backend, table, op_type, op):
    if op_type == "Put":
        attrs = op["Item"]
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
        return key
    return op["Key"]


def transact(backend, transact_items):
    """TransactWriteItems as moto 5.2.5 answers it (the same checks, error codes and
    cancellation reasons, one per item), undoing only what it touched when cancelled."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = Undo()
    touched = set()
    reasons = []
    try:
        for entry in transact_items:
            if len(entry) > 1:
                raise TransactWriteSingleOpException
            old_image = None
            try:
                op_type, op = next(iter(entry.items()))
                if op_type not in ("ConditionCheck", "Put", "Delete", "Update"):
                    raise ValueError("Unsupported transaction operation")
                table_name = op["TableName"]
                table = backend.get_table(table_name)
                key = key_of(backend, table, op_type, op)
                hash_key, range_key = backend.get_keys_value(table, key)
                if (id(table), hash_key, range_key) in touched:
                    raise MultipleTransactionsException()
                touched.add((id(table), hash_key, range_key))
                undo.remember(table, hash_key, range_key)

                current = stored(table, hash_key, range_key)
                condition = op.get("ConditionExpression")
                names = op.get("ExpressionAttributeNames")
                values = op.get("ExpressionAttributeValues")
                if condition is not None and not get_filter_expression(
                        condition, names, values).expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        old_image = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=old_image)

                if op_type == "Put":
                    backend.put_item(table_name, op["Item"], condition_expression=condition,
                                     expression_attribute_names=names,
                                     expression_attribute_values=values)
                elif op_type == "Delete":
                    backend.delete_item(table_name, key, condition_expression=condition,
                                        expression_attribute_names=names,
                                        expression_attribute_values=values)
                elif op_type == "Update":
                    backend.update_item(table_name, key,
                                        update_expression=op["UpdateExpression"],
                                        condition_expression=condition,
                                        expression_attribute_names=names,
                                        expression_attribute_values=values)
                reasons.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                raise
            except ConditionalCheckFailed as e:
                reasons.append(("ConditionalCheckFailed", str(e.message), old_image))
            except Exception as e:  # moto reports any other failure as that item's reason
                reasons.append((type(e).__name__, str(e), old_image))
    except BaseException:
        undo.put_back()
        raise
    if any(code is not None for code, _, _ in reasons):
        undo.put_back()
        raise TransactionCanceledException(reasons)


# --- Partitions of secondary indexes ---------------------------------------------------------


class IndexPartitions:
    """For each secondary index of one table: which items (by table key) are in which of its
    partitions, and, for an index with a sort key, in the order of that key. An item is
    listed when it has the index's key attributes (moto's query matches no other); moto's
    query checks the rest itself."""

    def __init__(self, table):
        self.shape = index_shape(table)
        # index name -> partition value -> Partition
        self.partitions = {name: {} for name, _, _ in self.shape}
        # table key -> {index name: (partition value, entry)}
        self.entries = {}
        for partition in table.items.values():
            items = partition.values() if table.range_key_attr is not None else [partition]
            for item in items:
                self.update(table, item.hash_key, item.range_key)

    def update(self, table, hash_key, range_key):
        where = (hash_key, range_key)
        item = stored(table, hash_key, range_key)
        old = self.entries.pop(where, {})
        new = {}
        if item is not None:
            for name, hash_attr, range_attr in self.shape:
                value = item.attrs.get(hash_attr)
                if value is None:
                    continue
                if range_attr is None:
                    new[name] = (value, where)
                else:
                    sort_value = item.attrs.get(range_attr)
                    if sort_value is not None:
                        new[name] = (value, sort_entry(sort_value, where))
        for name, (value, entry) in old.items():
            if new.get(name) != (value, entry):
                partitions = self.partitions[name]
                partition = partitions.get(value)
                if partition is not None:
                    partition.remove(entry)
                    if not partition:
                        del partitions[value]
        for name, (value, entry) in new.items():
            if old.get(name) != (value, entry):
                self.partitions[name].setdefault(value, Partition()).add(entry)
        if new:
            self.entries[where] = new

    def items(self, table, index_name, value, comparison, operands):
        partition = self.partitions.get(index_name, {}).get(value)
        if partition is None:
            return []
        found = []
        for hash_key, range_key in partition.keys(comparison, operands):
            item = stored(table, hash_key, range_key)
            if item is not None:
                found.append(item)
        return found


# Key types DynamoDB allows; their values order as moto compares them (cast_value).
KEY_TYPES = ("B", "N", "S")


def sort_entry(sort_value, where):
    """An index entry ordered by the sort key's type and value, then by the table key (which
    is unique, so two entries never compare their DynamoTypes)."""
    if sort_value.type not in KEY_TYPES:
        return ("", None, repr_key(where), where)
    return (sort_value.type, sort_value.cast_value, repr_key(where), where)


def repr_key(where):
    return repr([(k.type, k.value) for k in where if k is not None])


class Partition:
    """The entries of one index partition: an ordered set of table keys for an index without
    a sort key, a sorted list for one with."""

    def __init__(self):
        self.unsorted = {}
        self.sorted = []

    def __len__(self):
        return len(self.unsorted) + len(self.sorted)

    def add(self, entry):
        if isinstance(entry[0], str) and len(entry) == 4 and entry[0] in KEY_TYPES:
            bisect.insort(self.sorted, entry)
        else:
            self.unsorted[entry] = None

    def remove(self, entry):
        if isinstance(entry[0], str) and len(entry) == 4 and entry[0] in KEY_TYPES:
            i = bisect.bisect_left(self.sorted, entry)
            if i < len(self.sorted) and self.sorted[i] == entry:
                del self.sorted[i]
        else:
            self.unsorted.pop(entry, None)

    def keys(self, comparison, operands):
        """The table keys of the entries a key condition can match: the slice of the sort key's
        range for a comparison of one key type, and every entry of any other type."""
        keys = [entry if len(entry) == 2 else entry[3] for entry in self.unsorted]
        n = len(self.sorted)
        lo, hi = sort_range(self.sorted, comparison, operands)
        if (lo, hi) == (0, n):
            keys.extend(entry[3] for entry in self.sorted)
            return keys
        # One entry more on each side: moto answers a LastEvaluatedKey when its Limit is
        # reached and any item follows in the walk, matching or not, and so must this.
        picked = set(range(max(lo - 1, 0), min(hi + 1, n)))
        # Entries of any other type: moto's walk meets them too.
        kind = operands[0].type
        start = bisect.bisect_left(self.sorted, (kind,), key=type_and_value)
        end = bisect.bisect_left(self.sorted, (kind + "\0",), key=type_and_value)
        picked.update(range(0, start))
        picked.update(range(end, n))
        keys.extend(self.sorted[i][3] for i in sorted(picked))
        return keys


def type_and_value(entry):
    return entry[0], entry[1]


def sort_range(entries, comparison, operands):
    """[lo, hi) of the entries whose sort key can satisfy the comparison, among the entries of
    the operands' type; (0, len) when it cannot be narrowed."""
    everything = (0, len(entries))
    if comparison is None or not operands:
        return everything
    kind = operands[0].type
    if kind not in KEY_TYPES or any(o.type != kind for o in operands):
        return everything
    values = [o.cast_value for o in operands]
    start = bisect.bisect_left(entries, (kind,), key=type_and_value)
    end = bisect.bisect_left(entries, (kind + "\0",), key=type_and_value)

    def left(v):
        return bisect.bisect_left(entries, (kind, v), lo=start, hi=end, key=type_and_value)

    def right(v):
        return bisect.bisect_right(entries, (kind, v), lo=start, hi=end, key=type_and_value)

    if comparison in ("EQ", "=") and len(values) == 1:
        return left(values[0]), right(values[0])
    if comparison in ("LT", "<") and len(values) == 1:
        return start, left(values[0])
    if comparison in ("LE", "<=") and len(values) == 1:
        return start, right(values[0])
    if comparison in ("GT", ">") and len(values) == 1:
        return right(values[0]), end
    if comparison in ("GE", ">=") and len(values) == 1:
        return left(values[0]), end
    if comparison == "BETWEEN" and len(values) == 2:
        lo, hi = left(values[0]), right(values[1])
        return lo, max(lo, hi)
    if comparison == "BEGINS_WITH" and len(values) == 1:
        return left(values[0]), end
    return start, end


def index_shape(table):
    """(index name, partition key attribute, sort key attribute or None) of each secondary
    index with one of each at most, as the table is now."""
    shape = []
    for index in list(table.global_indexes or []) + list(table.indexes or []):
        hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
        ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
        if len(hashes) == 1 and len(ranges) <= 1:
            shape.append((index.name, hashes[0], ranges[0] if ranges else None))
    return tuple(shape)


def index_partitions(table, build):
    """The table's index partitions, (re)built when asked for and absent or stale (a new
    table, a restored one, an index added or removed)."""
    current = table.__dict__.get("_trouw_index_partitions")
    if current is not None and current.shape == index_shape(table):
        return current
    if not build:
        if current is not None:
            del table.__dict__["_trouw_index_partitions"]
        return None
    current = IndexPartitions(table)
    table.__dict__["_trouw_index_partitions"] = current
    return current


def reindex(table, hash_key, range_key):
    partitions = index_partitions(table, build=False)
    if partitions is not None:
        partitions.update(table, hash_key, range_key)


def partition_items(table, bound):
    """The items a Query can match (a superset, in any order), or None to let moto look at
    every item itself."""
    hash_key = bound.get("hash_key")
    index_name = bound.get("index_name")
    if not index_name:
        if not isinstance(hash_key, DynamoType):
            return None
        partition = table.items.get(hash_key)
        if partition is None:
            return []
        return list(partition.values()) if table.range_key_attr is not None else [partition]
    shape = {name: (h, r) for name, h, r in index_shape(table)}
    if index_name not in shape:
        return None  # moto answers an unknown or multi-attribute index itself
    hash_attr, range_attr = shape[index_name]
    conditions = dict(bound.get("hash_key_conditions") or [])
    value = conditions.get(hash_attr)
    if len(conditions) != 1 or not isinstance(value, DynamoType):
        return None
    comparison = bound.get("range_comparison")
    operands = list(bound.get("range_objs") or [])
    range_conditions = bound.get("range_key_conditions") or []
    if comparison is not None and (range_attr is None or bound.get("filter_kwargs")
                                   or any(name != range_attr for name, _, _ in range_conditions)):
        comparison, operands = None, []
    return index_partitions(table, build=True).items(table, index_name, value, comparison,
                                                     operands)


# --- Stream reads ---------------------------------------------------------------------------


class StreamRecordsResult(ActionResult):
    """A GetRecords answer written straight as JSON. moto's serializer walks the API model for
    every attribute value of every record (about 5 s for 1,000 records of trouw's items,
    under the lock), so a stream consumer behind an import of 100,000 items stalls everything
    for minutes. Stream records are already in their wire shape but for timestamps and
    binary values, which this converts exactly as moto's serializer does; a record of any
    other shape goes through moto's serializer."""

    def execute_result(self, context):
        try:
            body = json.dumps(wire_records(self.result))
        except WireShapeUnknown:
            return ActionResult.execute_result(self, context)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body


class WireShapeUnknown(Exception):
    pass


RECORD_KEYS = {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb"}
STREAM_RECORD_KEYS = {"ApproximateCreationDateTime", "Keys", "NewImage", "OldImage",
                      "SequenceNumber", "SizeBytes", "StreamViewType"}
SCALAR_TYPES = {"S": str, "N": str, "BOOL": bool, "NULL": bool}


def wire_records(result):
    if not isinstance(result, dict) or set(result) != {"NextShardIterator", "Records"}:
        raise WireShapeUnknown
    records = []
    for record in result["Records"]:
        if not set(record) <= RECORD_KEYS or not set(record["dynamodb"]) <= STREAM_RECORD_KEYS:
            raise WireShapeUnknown
        stream_record = dict(record["dynamodb"])
        for images in ("Keys", "NewImage", "OldImage"):
            if images in stream_record:
                stream_record[images] = {name: wire_value(value)
                                         for name, value in stream_record[images].items()}
        if "ApproximateCreationDateTime" in stream_record:
            when = parse_to_aware_datetime(stream_record["ApproximateCreationDateTime"])
            stream_record["ApproximateCreationDateTime"] = \
                TimestampSerializer._timestamp_unixtimestamp(when)
        records.append(dict(record, dynamodb=stream_record))
    return {"Records": records, "NextShardIterator": result["NextShardIterator"]}


def wire_value(value):
    """An attribute value as moto's serializer writes it (blobs in base64, str ones too)."""
    if not isinstance(value, dict) or len(value) != 1:
        raise WireShapeUnknown
    (kind, inner), = value.items()
    if kind in SCALAR_TYPES and isinstance(inner, SCALAR_TYPES[kind]):
        return {kind: inner}
    if kind in ("SS", "NS") and isinstance(inner, list) and all(isinstance(v, str) for v in inner):
        return {kind: list(inner)}
    if kind == "B":
        return {"B": wire_blob(inner)}
    if kind == "BS" and isinstance(inner, list):
        return {"BS": [wire_blob(v) for v in inner]}
    if kind == "M" and isinstance(inner, dict):
        return {"M": {k: wire_value(v) for k, v in inner.items()}}
    if kind == "L" and isinstance(inner, list):
        return {"L": [wire_value(v) for v in inner]}
    raise WireShapeUnknown


def wire_blob(value):
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes):
        raise WireShapeUnknown
    return base64.b64encode(value).strip().decode("utf-8")


# --- Profiling ------------------------------------------------------------------------------


class Profiled:
    """Profiles each request with cProfile, adding it to one pstats file per action
    (X-Amz-Target, or the path) in `directory`, plus a summary of counts and times."""

    def __init__(self, app, directory):
        self.app = app
        self.directory = directory
        self.stats = {}
        self.times = {}
        self.lock = threading.Lock()
        os.makedirs(directory, exist_ok=True)

    def __call__(self, environ, start_response):
        action = (environ.get("HTTP_X_AMZ_TARGET") or environ.get("PATH_INFO", "other"))
        action = "".join(c if c.isalnum() or c in "._-" else "_" for c in action)[:80]
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        try:
            result = self.app(environ, start_response)
            body = b"".join(result)
            close = getattr(result, "close", None)
            if close:
                close()
        finally:
            profile.disable()
            took = time.perf_counter() - started
            with self.lock:
                if action in self.stats:
                    self.stats[action].add(profile)
                else:
                    self.stats[action] = pstats.Stats(profile)
                count, total, worst = self.times.get(action, (0, 0.0, 0.0))
                self.times[action] = (count + 1, total + took, max(worst, took))
                self.stats[action].dump_stats(os.path.join(self.directory, action + ".prof"))
                with open(os.path.join(self.directory, "summary.txt"), "w") as f:
                    for name, (n, t, w) in sorted(self.times.items(), key=lambda x: -x[1][1]):
                        f.write(f"{name}: {n} requests, {t:.3f} s in all, "
                                f"mean {t / n * 1000:.1f} ms, max {w * 1000:.1f} ms\n")
        return [body]
