"""IAM for the local stack: each Lambda function's own policy, from infra/template.yaml, enforced
on the requests its handlers send to moto.

moto can check IAM itself, but not as AWS does: it asks for an action
`dynamodb:TransactWriteItems` that IAM does not have, and it does not evaluate resource ARNs of
every service (index ARNs, SSM parameter ARNs) or the conditions the template uses. So this
module evaluates each request in the wrapper, before moto sees it:

- The SAM template is translated to CloudFormation with samtranslator (offline), and each
  function's role (`<Function>Role`) gives its inline policy documents and managed policy ARNs;
  managed policies are AWS's own documents, as moto bundles them.
- `!Sub`, `!Ref`, `!GetAtt`, `!If`, `!Join`, ... resolve to the local names: region eu-west-1,
  account 123456789012 (moto's), partition aws, the caller's table (its ARN and its stream's),
  the caller's parameters over the template's defaults.
- `POST /_trouw/iam/identities` {"function", "stack", "parameters", "resources"} (and
  "template", another template file, for a test of a changed policy) registers an
  identity and answers its access key. A request signed with such a key is evaluated against that
  function's policies (explicit deny, then allow, else implicit deny); any other key (the
  operator's "local" credentials for setup) may do everything.
- A denied request is answered as AWS answers it (AccessDeniedException naming the action and
  the resource) and recorded: `GET /_trouw/iam/denials?keys=AKID,...` lists them, so that a test
  fails with the function and the action. Every allowed (function, action) is appended to the
  file named by TROUW_IAM_USED_FILE, for the least-privilege check (check_iam_used.py).
"""

import fnmatch
import io
import json
import os
import re
import threading
import urllib.parse

ACCOUNT = "123456789012"
REGION = "eu-west-1"
PARTITION = "aws"
PREFIX = "/_trouw/iam/"
TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "template.yaml")


class PolicyError(Exception):
    """A policy or request this module cannot evaluate: it fails closed, with this message."""


# ---------------------------------------------------------------- the template's roles

_translated = {}


def translate(template_path=TEMPLATE):
    """The template as CloudFormation (SAM's own translator, no network), cached per path."""
    path = os.path.abspath(template_path)
    if path not in _translated:
        import boto3
        from samtranslator.parser.parser import Parser
        from samtranslator.translator.translator import Translator
        from samtranslator.yaml_helper import yaml_parse

        with open(path) as f:
            sam = yaml_parse(f.read())
        # The code location does not matter for the roles; SAM only wants an S3 URI here.
        sam.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://local/code.zip"
        session = boto3.session.Session(
            region_name=REGION, aws_access_key_id="local", aws_secret_access_key="local")
        # SAM names its own managed policies by ARN; no lookup of other names is needed.
        _translated[path] = Translator(None, Parser(), boto_session=session).translate(
            sam, {}, get_managed_policy_map=lambda: {})
    return _translated[path]


_managed = None


def managed_policy_document(arn):
    """An AWS managed policy's document, as moto bundles AWS's published ones."""
    global _managed
    if _managed is None:
        from moto.iam.aws_managed_policies import aws_managed_policies_data
        _managed = json.loads(aws_managed_policies_data)
    name = arn.rsplit("/", 1)[-1]
    if not arn.startswith(f"arn:{PARTITION}:iam::aws:policy/") or name not in _managed:
        raise PolicyError(f"managed policy {arn} is not an AWS managed policy moto knows")
    return _managed[name]["Document"]


class Names:
    """The local values of the template's parameters, pseudo parameters and resources."""

    def __init__(self, cfn, stack, parameters=None, resources=None):
        self.cfn = cfn
        self.stack = stack
        self.parameters = {}
        for name, spec in cfn.get("Parameters", {}).items():
            if "Default" in spec:
                self.parameters[name] = str(spec["Default"])
        self.parameters.update({k: str(v) for k, v in (parameters or {}).items()})
        self.resources = dict(resources or {})

    def pseudo(self, name):
        return {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::StackName": self.stack,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/{self.stack}/local",
        }.get(name)

    def physical_name(self, logical):
        """A resource's name: given by the caller, else its Name property, else CloudFormation's
        `<stack>-<LogicalId>`."""
        if logical in self.resources:
            return self.resources[logical]
        resource = self.cfn["Resources"].get(logical)
        if resource is None:
            raise PolicyError(f"no resource {logical} in the template")
        for key in ("Name", "TableName", "QueueName", "FunctionName"):
            value = resource.get("Properties", {}).get(key)
            if value is not None:
                return self.resolve(value)
        return f"{self.stack}-{logical}"

    def ref(self, name):
        value = self.pseudo(name)
        if value is not None:
            return value
        if name in self.parameters:
            return self.parameters[name]
        resource = self.cfn["Resources"].get(name)
        if resource is None:
            raise PolicyError(f"!Ref {name}: neither a parameter nor a resource")
        if resource["Type"] == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.physical_name(name)}"
        return self.physical_name(name)

    def get_att(self, logical, attribute):
        resource = self.cfn["Resources"].get(logical)
        if resource is None:
            raise PolicyError(f"!GetAtt {logical}.{attribute}: no such resource")
        kind = resource["Type"]
        name = self.physical_name(logical)
        if kind == "AWS::DynamoDB::Table" and attribute == "Arn":
            return table_arn(name)
        if kind == "AWS::DynamoDB::Table" and attribute == "StreamArn":
            return stream_arn(name)
        if kind == "AWS::SQS::Queue" and attribute == "Arn":
            return f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}"
        if kind == "AWS::SQS::Queue" and attribute == "QueueName":
            return name
        if kind in ("AWS::Lambda::Function", "AWS::Serverless::Function") and attribute == "Arn":
            return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{name}"
        if kind == "AWS::Logs::LogGroup" and attribute == "Arn":
            return f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"
        raise PolicyError(f"!GetAtt {logical}.{attribute} has no local value")

    def condition(self, name):
        return bool(self.resolve(self.cfn["Conditions"][name]))

    def resolve(self, value):
        """The value with every intrinsic function applied; AWS::NoValue drops the entry."""
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (fn, arg), = value.items()
            if fn == "Ref":
                return NO_VALUE if arg == "AWS::NoValue" else self.ref(arg)
            if fn == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical, attribute)
            if fn == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                return self.sub(text, extra)
            if fn == "Fn::Join":
                return arg[0].join(str(v) for v in self.resolve(arg[1]))
            if fn == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if fn == "Fn::Split":
                return self.resolve(arg[1]).split(arg[0])
            if fn == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if fn == "Fn::Equals":
                return self.resolve(arg[0]) == self.resolve(arg[1])
            if fn == "Fn::Not":
                return not self.resolve(arg[0])
            if fn == "Fn::And":
                return all(self.resolve(a) for a in arg)
            if fn == "Fn::Or":
                return any(self.resolve(a) for a in arg)
            if fn == "Condition":
                return self.condition(arg)
            if fn.startswith("Fn::"):
                raise PolicyError(f"{fn} is not resolved locally")
        out = {}
        for k, v in value.items():
            v = self.resolve(v)
            if v is not NO_VALUE:
                out[k] = v
        return out

    def sub(self, text, extra):
        def one(match):
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in extra:
                return str(extra[name])
            if "." in name and not name.startswith("AWS::"):
                logical, attribute = name.split(".", 1)
                return self.get_att(logical, attribute)
            return str(self.ref(name))
        return re.sub(r"\$\{([^}]+)\}", one, text)


NO_VALUE = object()


def table_arn(name):
    return f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def stream_arn(table):
    """The table's current stream, as moto labels it (the table must exist)."""
    from moto.dynamodb.models import dynamodb_backends
    found = dynamodb_backends[ACCOUNT][REGION].tables.get(table)
    if found is None or not found.latest_stream_label:
        raise PolicyError(f"table {table} has no stream (create the table first)")
    return f"{table_arn(table)}/stream/{found.latest_stream_label}"


def role_policies(function, names):
    """The statements of `function`'s role: its inline policies and its managed policies."""
    cfn = names.cfn
    resource = cfn["Resources"].get(function)
    if resource is None or resource["Type"] != "AWS::Lambda::Function":
        raise PolicyError(f"{function} is not a function of the template")
    role_ref = resource["Properties"].get("Role", {})
    role = role_ref.get("Fn::GetAtt", [None])[0] if isinstance(role_ref, dict) else None
    if role is None or role not in cfn["Resources"]:
        raise PolicyError(f"{function}: its role is not a role of the template")
    props = cfn["Resources"][role]["Properties"]
    documents = [names.resolve(p["PolicyDocument"]) for p in props.get("Policies", [])]
    for arn in names.resolve(props.get("ManagedPolicyArns", [])):
        documents.append(managed_policy_document(arn))
    statements = []
    for document in documents:
        listed = document["Statement"]
        statements.extend(listed if isinstance(listed, list) else [listed])
    return role, statements


# ---------------------------------------------------------------- evaluation

def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def glob(pattern, value, ignore_case=False):
    """IAM's wildcards: `*` any run of characters, `?` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _string_equals(policy, value):
    return policy == value


def _string_equals_ignore_case(policy, value):
    return policy.lower() == value.lower()


def _string_like(policy, value):
    return glob(policy, value)


def _arn_like(policy, value):
    # ARNs compare part by part (six parts, the resource part may hold colons).
    p, v = policy.split(":", 5), value.split(":", 5)
    return len(p) == len(v) == 6 and all(glob(a, b) for a, b in zip(p, v))


def _bool(policy, value):
    return str(policy).lower() == str(value).lower()


# operator -> (matches one value against one policy value, negated)
OPERATORS = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_string_equals_ignore_case, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ignore_case, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
    "Bool": (_bool, False),
}


def condition_holds(operator, key, policy_values, context):
    """One condition (operator, key, values) against the request context, as IAM evaluates it;
    an operator it does not know fails closed (PolicyError)."""
    policy_values = [str(v) for v in as_list(policy_values)]
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    if if_exists:
        name = name[: -len("IfExists")]
    if name == "Null":
        present = key in context and context[key] not in (None, [])
        return (not present) == (policy_values[0].lower() == "true")
    if name not in OPERATORS or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise PolicyError(f"condition operator {operator} is not evaluated locally")
    match, negated = OPERATORS[name]
    present = key in context and context[key] is not None
    values = as_list(context.get(key))

    def hit(value):
        found = any(match(p, str(value)) for p in policy_values)
        return not found if negated else found

    if qualifier == "ForAllValues":
        # True for an empty or absent key: the well-known trap, as in AWS.
        return all(hit(v) for v in values)
    if qualifier == "ForAnyValue":
        return any(hit(v) for v in values)
    if not present:
        return if_exists or negated
    if len(values) != 1:
        raise PolicyError(f"{key} has several values: use ForAllValues or ForAnyValue with {operator}")
    return hit(values[0])


def statement_applies(statement, action, resource, context):
    if "Action" in statement:
        action_hit = any(glob(a, action, ignore_case=True) for a in as_list(statement["Action"]))
    else:
        action_hit = not any(glob(a, action, ignore_case=True) for a in as_list(statement.get("NotAction")))
    if not action_hit:
        return False
    if "Resource" in statement:
        resource_hit = any(glob(r, resource) for r in as_list(statement["Resource"]))
    else:
        resource_hit = not any(glob(r, resource) for r in as_list(statement.get("NotResource")))
    if not resource_hit:
        return False
    for operator, keys in statement.get("Condition", {}).items():
        for key, values in keys.items():
            if not condition_holds(operator, key, values, context):
                return False
    return True


def evaluate(statements, action, resource, context):
    """"allow", or a reason for the denial: an explicit Deny wins over any Allow; without an
    Allow the request is implicitly denied."""
    allowed = False
    for statement in statements:
        if statement_applies(statement, action, resource, context):
            if statement.get("Effect") == "Deny":
                return "with an explicit deny in an identity-based policy"
            allowed = True
    if allowed:
        return "allow"
    return f"because no identity-based policy allows the {action} action"


# ---------------------------------------------------------------- requests -> (action, resource, context)

def _attr_value(av):
    """A key attribute's value as IAM sees it (S, N or B as text)."""
    if not isinstance(av, dict) or not av:
        return None
    (_, value), = av.items()
    return value if isinstance(value, str) else json.dumps(value)


def _hash_key(table, index=None):
    from moto.dynamodb.models import dynamodb_backends
    found = dynamodb_backends[ACCOUNT][REGION].tables.get(table)
    if found is None:
        return None
    if index:
        for idx in list(found.global_indexes) + list(found.indexes):
            if idx.name == index:
                for key in idx.schema:
                    if key["KeyType"] == "HASH":
                        return key["AttributeName"]
        return None
    return found.hash_key_attr


def _leading(table, items):
    key = _hash_key(table)
    values = []
    for item in items:
        value = _attr_value((item or {}).get(key)) if key else None
        if value is not None and value not in values:
            values.append(value)
    return {"dynamodb:LeadingKeys": values}


def _query_leading(body):
    """The partition key value a Query's key condition names."""
    table, index = body.get("TableName"), body.get("IndexName")
    key = _hash_key(table, index)
    if key is None:
        return {}
    if "KeyConditions" in body:
        cond = body["KeyConditions"].get(key, {})
        values = [_attr_value(v) for v in cond.get("AttributeValueList", [])]
        return {"dynamodb:LeadingKeys": [v for v in values if v is not None]}
    names = body.get("ExpressionAttributeNames", {})
    values = body.get("ExpressionAttributeValues", {})
    for left, right in re.findall(r"([#\w.]+)\s*=\s*(:\w+)", body.get("KeyConditionExpression", "")):
        if names.get(left, left) == key:
            value = _attr_value(values.get(right))
            return {"dynamodb:LeadingKeys": [value] if value is not None else []}
    return {}


def dynamodb_requests(operation, body):
    def arn(table, index=None):
        return table_arn(table) + (f"/index/{index}" if index else "")

    if operation in ("GetItem", "UpdateItem", "DeleteItem"):
        t = body["TableName"]
        return [(f"dynamodb:{operation}", arn(t), _leading(t, [body.get("Key")]))]
    if operation == "PutItem":
        t = body["TableName"]
        return [("dynamodb:PutItem", arn(t), _leading(t, [body.get("Item")]))]
    if operation in ("Query", "Scan"):
        t, i = body["TableName"], body.get("IndexName")
        context = _query_leading(body) if operation == "Query" else {}
        return [(f"dynamodb:{operation}", arn(t, i), context)]
    if operation == "BatchGetItem":
        return [("dynamodb:BatchGetItem", arn(t), _leading(t, spec.get("Keys", [])))
                for t, spec in body["RequestItems"].items()]
    if operation == "BatchWriteItem":
        out = []
        for t, writes in body["RequestItems"].items():
            keys = [w.get("PutRequest", {}).get("Item") or w.get("DeleteRequest", {}).get("Key") for w in writes]
            out.append(("dynamodb:BatchWriteItem", arn(t), _leading(t, keys)))
        return out
    if operation == "TransactWriteItems":
        # IAM has no action TransactWriteItems: each item is authorised as its own action.
        out = []
        for item in body["TransactItems"]:
            (kind, spec), = item.items()
            action = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                      "ConditionCheck": "ConditionCheckItem"}[kind]
            t = spec["TableName"]
            out.append((f"dynamodb:{action}", arn(t), _leading(t, [spec.get("Item") or spec.get("Key")])))
        return out
    if operation == "TransactGetItems":
        return [("dynamodb:GetItem", arn(i["Get"]["TableName"]),
                 _leading(i["Get"]["TableName"], [i["Get"].get("Key")])) for i in body["TransactItems"]]
    if "TableName" in body:
        return [(f"dynamodb:{operation}", arn(body["TableName"]), {})]
    if operation in ("ListTables", "DescribeLimits", "DescribeEndpoints"):
        return [(f"dynamodb:{operation}", "*", {})]
    raise PolicyError(f"DynamoDB {operation} is not mapped to IAM locally")


def streams_requests(operation, body):
    if operation in ("DescribeStream", "GetShardIterator"):
        return [(f"dynamodb:{operation}", body["StreamArn"], {})]
    if operation == "GetRecords":
        # moto's iterators start with the stream ARN; AWS's are opaque but name the same stream.
        return [("dynamodb:GetRecords", body["ShardIterator"].split("|", 1)[0], {})]
    if operation == "ListStreams":
        t = body.get("TableName")
        return [("dynamodb:ListStreams", f"{table_arn(t)}/stream/*" if t else "*", {})]
    raise PolicyError(f"DynamoDB Streams {operation} is not mapped to IAM locally")


def parameter_arn(name):
    """`parameter/trouw/x` for `/trouw/x` and `parameter/x` for `x`, as AWS forms it."""
    if name.startswith("arn:"):
        return name
    return f"arn:{PARTITION}:ssm:{REGION}:{ACCOUNT}:parameter" + (name if name.startswith("/") else "/" + name)


def ssm_requests(operation, body):
    if operation == "GetParameters" or operation == "DeleteParameters":
        return [(f"ssm:{operation}", parameter_arn(n), {}) for n in body.get("Names", [])]
    if "Name" in body:
        return [(f"ssm:{operation}", parameter_arn(body["Name"]), {})]
    if operation == "GetParametersByPath":
        return [("ssm:GetParametersByPath", parameter_arn(body["Path"].rstrip("/") or "/"), {})]
    raise PolicyError(f"SSM {operation} is not mapped to IAM locally")


def sqs_requests(operation, params):
    url = params.get("QueueUrl", "")
    name = url.rstrip("/").rsplit("/", 1)[-1]
    return [(f"sqs:{operation}", f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}" if name else "*", {})]


def ses_identity_arn(identity):
    return f"arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:identity/{identity}"


def sesv2_requests(method, path, body):
    if method == "POST" and path == "/v2/email/outbound-emails":
        # SES authorises the sending identity: the From address and its domain, and the
        # configuration set the message names.
        address = body.get("FromEmailAddress", "")
        address = re.sub(r"^.*<([^>]+)>\s*$", r"\1", address).strip()
        resources = [ses_identity_arn(address)] if address else []
        if "@" in address:
            resources.append(ses_identity_arn(address.rsplit("@", 1)[1]))
        if body.get("ConfigurationSetName"):
            resources.append(f"arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:configuration-set/{body['ConfigurationSetName']}")
        return [("ses:SendEmail", r, {}) for r in resources]
    parts = path.strip("/").split("/")
    if len(parts) >= 3 and parts[:3] == ["v2", "email", "identities"]:
        action = {"POST": "CreateEmailIdentity", "GET": "GetEmailIdentity" if len(parts) > 3 else "ListEmailIdentities",
                  "DELETE": "DeleteEmailIdentity"}.get(method)
        if action:
            resource = ses_identity_arn(urllib.parse.unquote(parts[3])) if len(parts) > 3 else "*"
            if action == "CreateEmailIdentity":
                resource = ses_identity_arn(body.get("EmailIdentity", ""))
            return [(f"ses:{action}", resource, {})]
    raise PolicyError(f"SES v2 {method} {path} is not mapped to IAM locally")


# Cognito's unauthenticated calls (the marketers' login) take no IAM permission.
NO_IAM = {"AWSCognitoIdentityProviderService.InitiateAuth",
          "AWSCognitoIdentityProviderService.RespondToAuthChallenge"}


def requests_of(environ, body):
    """What IAM authorises for this request: a list of (action, resource, context)."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "")
    if target in NO_IAM:
        return []
    if "." in target:
        service, operation = target.split(".", 1)
        payload = json.loads(body or b"{}")
        if service.startswith("DynamoDBStreams_"):
            return streams_requests(operation, payload)
        if service.startswith("DynamoDB_"):
            return dynamodb_requests(operation, payload)
        if service == "AmazonSSM":
            return ssm_requests(operation, payload)
        if service == "AmazonSQS":
            return sqs_requests(operation, payload)
        raise PolicyError(f"{target} is not mapped to IAM locally")
    if path.startswith("/v2/email/"):
        return sesv2_requests(method, path, json.loads(body or b"{}"))
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace")) if body else {}
    form = {k: v[0] for k, v in form.items()}
    if form.get("Action") and "sqs" in environ.get("HTTP_AUTHORIZATION", ""):
        return sqs_requests(form["Action"], form)
    raise PolicyError(f"{method} {path} is not mapped to IAM locally")


# ---------------------------------------------------------------- identities and the WSGI hook

class Identity:
    def __init__(self, function, stack, role, statements):
        self.function = function
        self.stack = stack
        self.role = role
        self.statements = statements

    @property
    def principal(self):
        return f"arn:{PARTITION}:sts::{ACCOUNT}:assumed-role/{self.stack}-{self.role}/{self.stack}-{self.function}"


class Gate:
    """The registered identities, what they were denied, and what they used."""

    def __init__(self, template_path=TEMPLATE, used_file=None):
        self.template_path = template_path
        self.used_file = used_file
        self.identities = {}
        self.denials = {}
        self.used = set()
        self.counter = 0
        self.lock = threading.Lock()

    def register(self, function, stack, parameters=None, resources=None, template=None):
        names = Names(translate(template or self.template_path), stack, parameters, resources)
        role, statements = role_policies(function, names)
        with self.lock:
            self.counter += 1
            key = f"ASIALOCAL{self.counter:011d}"
        self.identities[key] = Identity(function, stack, role, statements)
        self.denials[key] = []
        return key

    def check(self, key, environ, body):
        """None if allowed, else (action, resource, message) of the first denied part."""
        identity = self.identities.get(key)
        if identity is None:
            return None
        try:
            parts = requests_of(environ, body)
        except (PolicyError, KeyError, ValueError) as err:
            parts = None
            failure = ("unknown", environ.get("PATH_INFO", ""),
                       f"the local IAM check cannot evaluate this request ({err}); it is denied")
        if parts is not None:
            failure = None
            for action, resource, context in parts:
                try:
                    verdict = evaluate(identity.statements, action, resource, context)
                except PolicyError as err:
                    verdict = f"because the local IAM check cannot evaluate it ({err})"
                if verdict != "allow":
                    failure = (action, resource,
                               f"User: {identity.principal} is not authorized to perform: {action} "
                               f"on resource: {resource} {verdict}")
                    break
                self._use(identity.function, action)
        if failure is None:
            return None
        action, resource, message = failure
        self.denials[key].append({"function": identity.function, "action": action,
                                  "resource": resource, "message": message})
        return failure

    def _use(self, function, action):
        pair = (function, action)
        if pair in self.used:
            return
        self.used.add(pair)
        if self.used_file:
            with open(self.used_file, "a") as f:
                f.write(f"{function}\t{action}\n")


GATE = Gate(used_file=os.environ.get("TROUW_IAM_USED_FILE") or None)

CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


def access_key(environ):
    found = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    return found.group(1) if found else None


def _json(start_response, status, payload, headers=()):
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body))), *headers])
    return [body]


def denied_response(environ, start_response, action, message):
    """AccessDenied as the service answers it: JSON protocols with their __type, SES v2's REST
    with its error-type header."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith("DynamoDB") or target.startswith("AmazonSSM"):
        kind = ("com.amazon.coral.service#AccessDeniedException" if target.startswith("DynamoDB")
                else "AccessDeniedException")
        return _json(start_response, "400 Bad Request", {"__type": kind, "message": message, "Message": message})
    if target.startswith("AmazonSQS"):
        return _json(start_response, "403 Forbidden",
                     {"__type": "com.amazonaws.sqs#AccessDenied", "message": message},
                     [("x-amzn-query-error", "AccessDenied;Sender")])
    return _json(start_response, "403 Forbidden", {"message": message},
                 [("x-amzn-ErrorType", "AccessDeniedException")])


def read_body(environ):
    """The request body, put back so that moto reads it too."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def handle(environ, start_response):
    """The wrapper's IAM endpoints (PREFIX...)."""
    path = environ.get("PATH_INFO", "")
    method = environ.get("REQUEST_METHOD", "GET")
    try:
        if path == PREFIX + "identities" and method == "POST":
            request = json.loads(read_body(environ) or b"{}")
            key = GATE.register(request["function"], request.get("stack", "trouw-local"),
                                request.get("parameters"), request.get("resources"),
                                request.get("template"))
            identity = GATE.identities[key]
            return _json(start_response, "200 OK", {
                "AccessKeyId": key, "SecretAccessKey": "local-" + key,
                "Principal": identity.principal})
        if path == PREFIX + "denials" and method == "GET":
            query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
            keys = [k for v in query.get("keys", []) for k in v.split(",") if k]
            return _json(start_response, "200 OK",
                         {"denials": [d for k in keys for d in GATE.denials.get(k, [])]})
    except (PolicyError, KeyError, ValueError) as err:
        return _json(start_response, "400 Bad Request", {"error": str(err)})
    return _json(start_response, "404 Not Found", {"error": f"no {method} {path}"})


def gate(environ, start_response):
    """Before moto: None to let the request through, else the AccessDenied answer."""
    if environ.get("PATH_INFO", "").startswith(PREFIX):
        return handle(environ, start_response)
    key = access_key(environ)
    if key is None or key not in GATE.identities:
        return None
    failure = GATE.check(key, environ, read_body(environ))
    if failure is None:
        return None
    action, _, message = failure
    return denied_response(environ, start_response, action, message)
