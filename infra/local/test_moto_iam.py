"""Unit tests of the local IAM check (moto_iam.py) and the least-privilege check
(check_iam_used.py). Quick: no server, no moto backend. `make lint` runs them:
    .venv/bin/python -m unittest discover -s infra/local -p 'test_*.py'
"""

import io
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import check_iam_used  # noqa: E402
import moto_iam  # noqa: E402

TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/t"


def allow(action, resource, condition=None):
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


class Evaluation(unittest.TestCase):
    def test_allow_needs_a_matching_action_and_resource(self):
        policy = [allow(["dynamodb:GetItem", "dynamodb:Query"], TABLE)]
        self.assertEqual(moto_iam.evaluate(policy, "dynamodb:GetItem", TABLE, {}), "allow")
        self.assertIn("no identity-based policy allows the dynamodb:PutItem action",
                      moto_iam.evaluate(policy, "dynamodb:PutItem", TABLE, {}))
        # An index is its own resource: the table's ARN does not cover it.
        self.assertNotEqual(moto_iam.evaluate(policy, "dynamodb:Query", TABLE + "/index/due", {}), "allow")

    def test_actions_match_case_insensitively_and_resources_with_wildcards(self):
        policy = [allow("DynamoDB:get*", TABLE + "/index/*")]
        self.assertEqual(moto_iam.evaluate(policy, "dynamodb:GetItem", TABLE + "/index/by_day", {}), "allow")
        self.assertNotEqual(moto_iam.evaluate(policy, "dynamodb:GetItem", TABLE, {}), "allow")

    def test_an_explicit_deny_wins(self):
        policy = [allow("dynamodb:*", "*"),
                  {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": TABLE}]
        self.assertIn("explicit deny", moto_iam.evaluate(policy, "dynamodb:DeleteItem", TABLE, {}))
        self.assertEqual(moto_iam.evaluate(policy, "dynamodb:PutItem", TABLE, {}), "allow")

    def test_leading_keys_for_all_values(self):
        policy = [allow("dynamodb:PutItem", TABLE,
                        {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["LOGIN#*", "SHOP#*#AUDIT"]}})]
        ok = {"dynamodb:LeadingKeys": ["SHOP#demo#AUDIT"]}
        other = {"dynamodb:LeadingKeys": ["SHOP#demo#CUST#1"]}
        mixed = {"dynamodb:LeadingKeys": ["LOGIN#x", "SHOP#demo#CUST#1"]}
        self.assertEqual(moto_iam.evaluate(policy, "dynamodb:PutItem", TABLE, ok), "allow")
        self.assertNotEqual(moto_iam.evaluate(policy, "dynamodb:PutItem", TABLE, other), "allow")
        self.assertNotEqual(moto_iam.evaluate(policy, "dynamodb:PutItem", TABLE, mixed), "allow")
        # As in AWS: ForAllValues holds for an absent key.
        self.assertEqual(moto_iam.evaluate(policy, "dynamodb:PutItem", TABLE, {}), "allow")

    def test_string_and_arn_operators(self):
        holds = moto_iam.condition_holds
        self.assertTrue(holds("StringEquals", "k", ["a"], {"k": "a"}))
        self.assertFalse(holds("StringEquals", "k", ["a"], {}))
        self.assertTrue(holds("StringNotEquals", "k", ["a"], {"k": "b"}))
        self.assertTrue(holds("StringLike", "k", ["a*"], {"k": "abc"}))
        self.assertTrue(holds("StringEqualsIfExists", "k", ["a"], {}))
        self.assertTrue(holds("ForAnyValue:StringEquals", "k", ["a"], {"k": ["b", "a"]}))
        self.assertFalse(holds("ForAnyValue:StringEquals", "k", ["a"], {}))
        self.assertTrue(holds("ArnLike", "aws:SourceArn", ["arn:aws:events:*:123456789012:rule/*"],
                              {"aws:SourceArn": "arn:aws:events:eu-west-1:123456789012:rule/r"}))
        self.assertFalse(holds("ArnEquals", "aws:SourceArn", ["arn:aws:events:eu-west-1:1:rule/r"],
                               {"aws:SourceArn": "arn:aws:events:eu-west-1:2:rule/r"}))

    def test_an_unknown_operator_fails_closed_with_its_name(self):
        policy = [allow("dynamodb:GetItem", TABLE, {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01"}})]
        with self.assertRaisesRegex(moto_iam.PolicyError, "DateGreaterThan"):
            moto_iam.evaluate(policy, "dynamodb:GetItem", TABLE, {})


class Requests(unittest.TestCase):
    def requests(self, target, body):
        environ = {"HTTP_X_AMZ_TARGET": target, "REQUEST_METHOD": "POST", "PATH_INFO": "/"}
        return moto_iam.requests_of(environ, json.dumps(body).encode())

    def test_a_transaction_is_authorised_per_item(self):
        parts = self.requests("DynamoDB_20120810.TransactWriteItems", {"TransactItems": [
            {"Put": {"TableName": "t", "Item": {}}},
            {"Update": {"TableName": "t", "Key": {}}},
            {"ConditionCheck": {"TableName": "t", "Key": {}}},
            {"Delete": {"TableName": "t", "Key": {}}},
        ]})
        self.assertEqual([p[0] for p in parts], ["dynamodb:PutItem", "dynamodb:UpdateItem",
                                                 "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem"])
        self.assertTrue(all(p[1] == TABLE for p in parts))

    def test_a_query_on_an_index_is_on_the_index_arn(self):
        (action, resource, _), = self.requests("DynamoDB_20120810.Query",
                                               {"TableName": "t", "IndexName": "due"})
        self.assertEqual((action, resource), ("dynamodb:Query", TABLE + "/index/due"))

    def test_parameter_arns_as_aws_forms_them(self):
        parts = self.requests("AmazonSSM.GetParameters", {"Names": ["/trouw/shops/a/x", "plain"]})
        self.assertEqual([p[1] for p in parts], [
            "arn:aws:ssm:eu-west-1:123456789012:parameter/trouw/shops/a/x",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/plain"])
        self.assertEqual({p[0] for p in parts}, {"ssm:GetParameters"})

    def test_ses_send_email_is_on_the_identities_and_the_configuration_set(self):
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/v2/email/outbound-emails"}
        body = {"FromEmailAddress": "De Winkel <hallo@dewinkel.nl>", "ConfigurationSetName": "s-messages"}
        parts = moto_iam.requests_of(environ, json.dumps(body).encode())
        self.assertEqual({p[0] for p in parts}, {"ses:SendEmail"})
        self.assertEqual([p[1].rsplit(":", 1)[1] for p in parts],
                         ["identity/hallo@dewinkel.nl", "identity/dewinkel.nl", "configuration-set/s-messages"])

    def test_an_unmapped_request_is_refused_by_name(self):
        with self.assertRaisesRegex(moto_iam.PolicyError, "AmazonSNS.Publish"):
            self.requests("AmazonSNS.Publish", {})


class TemplatePolicies(unittest.TestCase):
    def test_each_role_resolves_to_local_names(self):
        names = moto_iam.Names(moto_iam.translate(), "s", {"LinkSecretName": "s-link"},
                               {"Table": "t"})
        role, statements = moto_iam.role_policies("CustomerLinksFunction", names)
        self.assertEqual(role, "CustomerLinksFunctionRole")
        resources = {r for s in statements for r in moto_iam.as_list(s.get("Resource"))}
        self.assertIn(TABLE, resources)
        self.assertIn("arn:aws:ssm:eu-west-1:123456789012:parameter/trouw/s-link", resources)
        # SAM's managed policy, as AWS publishes it: the function's logs.
        actions = {a for s in statements for a in moto_iam.as_list(s.get("Action"))}
        self.assertIn("logs:PutLogEvents", actions)


class LeastPrivilege(unittest.TestCase):
    def test_unused_grants_and_stale_allow_list_entries_are_listed(self):
        granted = {"F": {"dynamodb:GetItem", "dynamodb:PutItem", "sqs:SendMessage"}, "G": {"ssm:*"}}
        used = {("F", "dynamodb:GetItem"), ("G", "ssm:GetParameter")}
        allowed = {("F", "sqs:SendMessage"): "runtime", ("F", "dynamodb:Scan"): "gone"}
        unused, stale = check_iam_used.unused_grants(granted, used, allowed)
        self.assertEqual(unused, [("F", "dynamodb:PutItem")])
        self.assertEqual(stale, [("F", "dynamodb:Scan", "not granted")])
        used.add(("F", "sqs:SendMessage"))
        _, stale = check_iam_used.unused_grants(granted, used, allowed)
        self.assertIn(("F", "sqs:SendMessage", "used by the tests now"), stale)

    def test_the_checker_fails_on_an_unused_grant_of_the_template(self):
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"iam-used-{os.getpid()}.tsv")
        with open(path, "w") as f:
            f.write("SesEventsFunction\tdynamodb:GetItem\n")
        err = io.StringIO()
        stderr, sys.stderr = sys.stderr, err
        try:
            self.assertEqual(check_iam_used.main([path]), 1)
        finally:
            sys.stderr = stderr
            os.remove(path)
        self.assertIn("SesEventsFunction is granted dynamodb:PutItem, which no test used", err.getvalue())


if __name__ == "__main__":
    unittest.main()
