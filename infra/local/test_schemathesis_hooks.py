"""Checks the contract test's "GET changes nothing" (infra/local/schemathesis_hooks.py) against the
project's moto: a write after the stream's ends were taken is seen, one that changes nothing
included, what an operation documents as recorded by a GET is not, and both reads wait for the
stack to settle first.

Run: .venv/bin/python -m unittest discover -s infra/local -p 'test_*.py'   (part of make test)
"""

import http.server
import importlib
import os
import subprocess
import sys
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import boto3  # noqa: E402

import measure_local  # noqa: E402

TABLE = "hooks-check"


class Settle(http.server.BaseHTTPRequestHandler):
    """The local stack's `POST /dev/settle`, counted."""

    calls = 0

    def do_POST(self):
        Settle.calls += 1
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class GetChangesNothing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="trouw-hooks-")
        cls.moto, endpoint = measure_local.start_moto(
            os.path.join(cls.tmp.name, "moto.port"), subprocess.DEVNULL)
        cls.settle = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Settle)
        threading.Thread(target=cls.settle.serve_forever, daemon=True).start()
        os.environ.update({
            "CONTRACT_BASE_URL": f"http://127.0.0.1:{cls.settle.server_address[1]}",
            "CONTRACT_AWS_ENDPOINT": endpoint,
            "TABLE_NAME": TABLE,
            "DEMO_WEBHOOK_SECRET": "whsec_aG9va3MtY2hlY2s=",
            "LINK_SECRET": "hooks-check",
            "ADMIN_USER": "marketing",
            "ADMIN_PASSWORD": "hooks-check",
            "DEMO_LOYALTY_API_KEY": "hooks-check",
        })
        cls.ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="eu-west-1",
                               aws_access_key_id="local", aws_secret_access_key="local")
        cls.ddb.create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        cls.hooks = importlib.import_module("schemathesis_hooks")

    @classmethod
    def tearDownClass(cls):
        cls.settle.shutdown()
        cls.settle.server_close()
        cls.moto.kill()
        cls.moto.wait()
        cls.tmp.cleanup()

    def put(self, pk, sk, n=1):
        self.ddb.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "sk": {"S": sk}, "n": {"N": str(n)}})

    def test_a_write_between_the_two_reads_is_seen(self):
        self.put("CUSTOMER#a", "PROFILE")
        ends = self.hooks._stream_ends()
        self.assertEqual(self.hooks._written_since(ends, "showPreferences"), [])
        ends = self.hooks._stream_ends()
        self.put("CUSTOMER#a", "PROFILE", n=2)
        self.put("CUSTOMER#b", "PROFILE")
        self.assertEqual(self.hooks._written_since(ends, "showPreferences"),
                         [("MODIFY", "CUSTOMER#a", "PROFILE"), ("INSERT", "CUSTOMER#b", "PROFILE")])

    def test_a_write_that_changes_nothing_is_seen_too(self):
        self.put("CUSTOMER#c", "PROFILE", n=7)
        ends = self.hooks._stream_ends()
        self.put("CUSTOMER#c", "PROFILE", n=7)
        self.assertEqual(self.hooks._written_since(ends, "showReactivation"),
                         [("MODIFY", "CUSTOMER#c", "PROFILE")])

    def test_only_what_the_operation_documents_is_left_out(self):
        ends = self.hooks._stream_ends()
        self.put("SHOP#demo#AUDIT", "2026-12-01T00:00:00Z")
        self.put("LOGIN#marketing", "THROTTLE")
        self.put("CUSTOMER#d", "PROFILE")
        self.assertEqual(self.hooks._written_since(ends, "listMessages"),
                         [("INSERT", "CUSTOMER#d", "PROFILE")])
        self.assertEqual(len(self.hooks._written_since(ends, "showPreferences")), 3,
                         "another operation's GET may record nothing")

    def test_both_reads_wait_for_the_stack_to_settle(self):
        before = Settle.calls
        self.hooks._written_since(self.hooks._stream_ends(), "getLoyaltyBalance")
        self.assertEqual(Settle.calls - before, 2)

    def test_more_than_a_page_of_writes_is_read_whole(self):
        ends = self.hooks._stream_ends()
        with self.ddb_batch() as batch:
            for i in range(1200):
                batch.put_item(Item={"pk": f"CUSTOMER#bulk-{i}", "sk": "PROFILE"})
        written = self.hooks._written_since(ends, "showSurveyAnswer")
        self.assertEqual(len(written), 1200)

    def ddb_batch(self):
        resource = boto3.resource("dynamodb", endpoint_url=os.environ["CONTRACT_AWS_ENDPOINT"],
                                  region_name="eu-west-1", aws_access_key_id="local",
                                  aws_secret_access_key="local")
        return resource.Table(TABLE).batch_writer()


if __name__ == "__main__":
    unittest.main()
