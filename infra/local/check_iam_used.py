"""Least privilege, the other direction of the local IAM check: every action a function's policy
in infra/template.yaml grants must be used by some code path of that function during the test
suite, or be on the allow-list below with its reason.

`make test` runs the suite with TROUW_IAM_USED_FILE set: the local moto (moto_iam.py) appends
each (function, action) it allowed to that file. Afterwards:

    check_iam_used.py USED_FILE [--template infra/template.yaml]

fails listing each granted action no test used. Only the template's own statements count (the
inline policies); the managed policies SAM attaches (AWSLambdaBasicExecutionRole, ...) are AWS's.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import moto_iam  # noqa: E402

# (function, action) -> why it is granted although no handler calls it in the tests. Only what
# the tests can never use belongs here: an action a test uses by chance (a race, a fault run's
# bad luck) gets a test that uses it on purpose, or the entry would turn stale at random.
ALLOWED_UNUSED = {
    # Lambda's event source mapping may list the table's streams with the function's role (the
    # managed AWSLambdaDynamoDBExecutionRole grants it too); the local mapping, like AWS's, is
    # given the stream's ARN and reads it with this role (DescribeStream, GetShardIterator,
    # GetRecords: used in the tests).
    ("SendMessagesFunction", "dynamodb:ListStreams"): "the event source mapping may list the streams with this role",
    ("CountDaysFunction", "dynamodb:ListStreams"): "the event source mapping may list the streams with this role",
}


def granted_actions(template_path):
    """Per function: the actions its own (inline) policy statements allow."""
    cfn = moto_iam.translate(template_path)
    granted = {}
    for logical, resource in cfn["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role = resource["Properties"]["Role"]["Fn::GetAtt"][0]
        actions = set()
        for policy in cfn["Resources"][role]["Properties"].get("Policies", []):
            statements = moto_iam.as_list(policy["PolicyDocument"]["Statement"])
            for statement in statements:
                if statement.get("Effect") == "Allow":
                    actions.update(moto_iam.as_list(statement.get("Action")))
        granted[logical] = actions
    return granted


def read_used(path):
    used = set()
    with open(path) as f:
        for line in f:
            function, _, action = line.strip().partition("\t")
            if function and action:
                used.add((function, action))
    return used


def unused_grants(granted, used, allowed):
    """(unused, stale): granted actions that nothing used and the allow-list does not explain,
    and allow-list entries that are no longer needed (used, or not granted at all)."""
    unused, stale = [], []
    for function, actions in sorted(granted.items()):
        for action in sorted(actions):
            hit = any(f == function and moto_iam.glob(action, a, ignore_case=True) for f, a in used)
            if (function, action) in allowed:
                if hit:
                    stale.append((function, action, "used by the tests now"))
            elif not hit:
                unused.append((function, action))
    for function, action in sorted(allowed):
        if action not in granted.get(function, set()):
            stale.append((function, action, "not granted"))
    return unused, stale


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("used_file")
    parser.add_argument("--template", default=moto_iam.TEMPLATE)
    args = parser.parse_args(argv)
    if not os.path.exists(args.used_file):
        print(f"{args.used_file}: no record of what the functions used (was the suite run with "
              "TROUW_IAM_USED_FILE?)", file=sys.stderr)
        return 1
    granted = granted_actions(args.template)
    used = read_used(args.used_file)
    unused, stale = unused_grants(granted, used, ALLOWED_UNUSED)
    for function, action in unused:
        print(f"{function} is granted {action}, which no test used: remove it from its policy "
              "in infra/template.yaml, or test the code path that needs it", file=sys.stderr)
    for function, action, why in stale:
        print(f"allow-list entry ({function}, {action}) is stale: {why}", file=sys.stderr)
    if unused or stale:
        return 1
    total = sum(len(a) for a in granted.values())
    print(f"least privilege: all {total} granted actions of {len(granted)} functions are used "
          f"({len(ALLOWED_UNUSED)} by the runtime, on the allow-list)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
