"""Check each recorded AWS call (calls.py) against the policies of the role that made it.

The rule for each API operation (which IAM actions on which resource ARNs, with which
condition keys) is written here once, from the service's documentation:
- Amazon S3: "Required permissions for Amazon S3 API operations",
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html;
  a GET or HEAD of a missing key answers 404 only with s3:ListBucket, 403 without
  (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html), checked here with
  `s3:prefix` set to the key; an object in an SSE-KMS bucket needs kms:GenerateDataKey to be
  written and kms:Decrypt to be read or written in parts
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html).
- AWS Glue: catalog, database and table ARNs are all required for Data Catalog operations
  (https://docs.aws.amazon.com/glue/latest/dg/glue-specifying-resource-arns.html).
- Amazon SQS and Amazon SNS with a KMS key: a producer needs kms:GenerateDataKey and
  kms:Decrypt, a consumer kms:Decrypt
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html,
  https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
- AWS Step Functions: a task token names no resource, SendTask* take "*"; CloudWatch
  PutMetricData takes "*" with the `cloudwatch:namespace` key (Service Authorization Reference).

Policies are evaluated as IAM does for one account's identity policies
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit Deny wins, otherwise one Allow whose Action, Resource and Condition all match.
An operation without a rule here, or a condition operator or key this module does not know, is
a problem too: the check never passes a call it cannot judge.

The `s3:prefix` of the 404 rule is an assumption: the HeadObject page names s3:ListBucket only,
and the request context S3 evaluates for it is not documented; the key is the natural prefix.

What is checked: the inline policies of the template's roles. Not checked: managed policies
(Lambda's logging and X-Ray), resource policies (bucket, queue, topic, the KMS key policy, which
matters for a `KmsKeyArn` key that does not delegate to IAM), KMS use by DynamoDB tables with a
customer managed key (no caller action is documented here), and Spark's own S3 calls in Glue (the
local Glue runner copies the job's files; its calls are checked as the job role's).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from .calls import Call


@dataclass(frozen=True)
class Need:
    """One IAM action on one resource ARN, with the request's condition keys."""

    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()


@dataclass
class Role:
    """A role of the template: its logical id and its statements, resolved."""

    logical_id: str
    statements: list[dict[str, Any]]


@dataclass
class Account:
    """Where the calls were made, and which KMS key encrypts which resource ARN."""

    region: str
    account: str
    partition: str = "aws"
    encrypted: dict[str, str] = field(default_factory=dict)

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region, account = (self.region, self.account) if regional else ("", "")
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"

    def key_of(self, resource: str) -> str | None:
        """The KMS key ARN of the resource (an S3 object's bucket), if it is encrypted with one."""
        bucket = resource.split("/", 1)[0] if resource.startswith(f"arn:{self.partition}:s3:::") else resource
        return self.encrypted.get(bucket)


# -- what each operation needs ------------------------------------------------------------------
def _s3_object(account: Account, bucket: str, key: str) -> str:
    return f"arn:{account.partition}:s3:::{bucket}/{key}"


def _s3_bucket(account: Account, bucket: str) -> str:
    return f"arn:{account.partition}:s3:::{bucket}"


_MISSING = {"404", "NoSuchKey", "NotFound"}


def _s3(call: Call, account: Account) -> list[Need]:
    p, op = call.params, call.operation
    bucket, key = p.get("Bucket", ""), p.get("Key", "")
    obj, versioned = _s3_object(account, bucket, key), "VersionId" in p
    kms = account.key_of(_s3_bucket(account, bucket))
    decrypt = [Need("kms:Decrypt", kms)] if kms else []
    generate = [Need("kms:GenerateDataKey", kms)] if kms else []
    if op in {"GetObject", "HeadObject"}:
        needs = [Need("s3:GetObjectVersion" if versioned else "s3:GetObject", obj)]
        if call.error in _MISSING:
            needs.append(Need("s3:ListBucket", _s3_bucket(account, bucket), (("s3:prefix", key),)))
        return needs + (decrypt if op == "GetObject" and call.error is None else [])
    if op == "PutObject":
        return [Need("s3:PutObject", obj), *generate] + (
            [Need("s3:PutObjectTagging", obj)] if "Tagging" in p else [])
    if op in {"CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"}:
        return [Need("s3:PutObject", obj), *generate, *decrypt]
    if op in {"CopyObject", "UploadPartCopy"}:
        source_bucket, source_key, source_version = _copy_source(p["CopySource"])
        source = _s3_object(account, source_bucket, source_key)
        source_kms = account.key_of(_s3_bucket(account, source_bucket))
        return [Need("s3:GetObjectVersion" if source_version else "s3:GetObject", source),
                Need("s3:PutObject", obj), *generate, *decrypt,
                *([Need("kms:Decrypt", source_kms)] if source_kms else [])]
    if op == "AbortMultipartUpload":
        return [Need("s3:AbortMultipartUpload", obj)]
    if op == "DeleteObject":
        return [Need("s3:DeleteObjectVersion" if versioned else "s3:DeleteObject", obj)]
    if op == "DeleteObjects":
        return [Need("s3:DeleteObjectVersion" if "VersionId" in o else "s3:DeleteObject",
                     _s3_object(account, bucket, o["Key"])) for o in p.get("Delete", {}).get("Objects", [])]
    if op in {"ListObjectsV2", "ListObjects", "ListObjectVersions"}:
        action = "s3:ListBucketVersions" if op == "ListObjectVersions" else "s3:ListBucket"
        context = (("s3:prefix", p["Prefix"]),) if "Prefix" in p else ()
        return [Need(action, _s3_bucket(account, bucket), context)]
    if op == "GetBucketLocation":
        return [Need("s3:GetBucketLocation", _s3_bucket(account, bucket))]
    if op in {"GetObjectTagging", "PutObjectTagging"}:
        verb = op.removesuffix("ObjectTagging")
        return [Need(f"s3:{verb}ObjectVersionTagging" if versioned else f"s3:{verb}ObjectTagging", obj)]
    raise KeyError(op)


def _copy_source(source: Any) -> tuple[str, str, str | None]:
    """CopySource as boto3 takes it: a dict, or `bucket/key?versionId=...` (URL-encoded)."""
    if isinstance(source, dict):
        return source["Bucket"], source["Key"], source.get("VersionId")
    path, _, query = str(source).lstrip("/").partition("?")
    bucket, _, key = unquote(path).partition("/")
    return bucket, key, (parse_qs(query).get("versionId") or [None])[0]


def _glue(call: Call, account: Account) -> list[Need]:
    p, op = call.params, call.operation
    catalog = account.arn("glue", "catalog")
    if op in {"StartCrawler", "GetCrawler", "StopCrawler"}:
        return [Need(f"glue:{op}", account.arn("glue", f"crawler/{p['Name']}"))]
    if op in {"StartJobRun", "GetJobRun", "GetJobRuns", "BatchStopJobRun", "GetJob"}:
        return [Need(f"glue:{op}", account.arn("glue", f"job/{p['JobName']}"))]
    if op == "GetSecurityConfiguration":
        return [Need("glue:GetSecurityConfiguration", "*")]
    if op in {"GetDatabase", "CreateDatabase"}:
        return [Need(f"glue:{op}", r) for r in (catalog, account.arn("glue", f"database/{p['Name']}"))]
    database = p.get("DatabaseName", "")
    if op == "GetTables":
        table = "*"
    elif op in {"CreateTable", "UpdateTable"}:
        table = p["TableInput"]["Name"]
    elif "TableName" in p:
        table = p["TableName"]
    elif op in {"GetTable", "DeleteTable"}:
        table = p["Name"]
    else:
        raise KeyError(op)
    return [Need(f"glue:{op}", r) for r in (catalog, account.arn("glue", f"database/{database}"),
                                            account.arn("glue", f"table/{database}/{table}"))]


def _queue_arn(account: Account, url: str) -> str:
    owner, name = url.rstrip("/").split("/")[-2:]
    return f"arn:{account.partition}:sqs:{account.region}:{owner}:{name}"


def _sqs(call: Call, account: Account) -> list[Need]:
    op, queue = call.operation, _queue_arn(account, call.params["QueueUrl"])
    kms = account.key_of(queue)
    needs = [Need(f"sqs:{op.removesuffix('Batch')}", queue)]
    if kms and op in {"SendMessage", "SendMessageBatch"}:
        needs += [Need("kms:GenerateDataKey", kms), Need("kms:Decrypt", kms)]
    if kms and op == "ReceiveMessage":
        needs.append(Need("kms:Decrypt", kms))
    return needs


def _dynamodb(call: Call, account: Account) -> list[Need]:
    if call.operation not in {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan"}:
        raise KeyError(call.operation)
    return [Need(f"dynamodb:{call.operation}", account.arn("dynamodb", f"table/{call.params['TableName']}"))]


def _sns(call: Call, account: Account) -> list[Need]:
    if call.operation != "Publish":
        raise KeyError(call.operation)
    topic = call.params["TopicArn"]
    kms = account.key_of(topic)
    return [Need("sns:Publish", topic)] + (
        [Need("kms:GenerateDataKey", kms), Need("kms:Decrypt", kms)] if kms else [])


def _states(call: Call, account: Account) -> list[Need]:
    p, op = call.params, call.operation
    if op in {"SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"}:
        return [Need(f"states:{op}", "*")]
    for name in ("executionArn", "stateMachineArn"):
        if name in p:
            return [Need(f"states:{op}", p[name])]
    raise KeyError(op)


def _lambda(call: Call, account: Account) -> list[Need]:
    if call.operation != "Invoke":
        raise KeyError(call.operation)
    name = call.params["FunctionName"]
    arn = name if name.startswith("arn:") else account.arn("lambda", f"function:{name}")
    if call.params.get("Qualifier"):
        arn += f":{call.params['Qualifier']}"
    return [Need("lambda:InvokeFunction", arn)]


def _cloudwatch(call: Call, account: Account) -> list[Need]:
    if call.operation != "PutMetricData":
        raise KeyError(call.operation)
    return [Need("cloudwatch:PutMetricData", "*", (("cloudwatch:namespace", call.params["Namespace"]),))]


RULES: dict[str, Callable[[Call, Account], list[Need]]] = {
    "s3": _s3, "glue": _glue, "sqs": _sqs, "dynamodb": _dynamodb, "sns": _sns,
    "stepfunctions": _states, "lambda": _lambda, "cloudwatch": _cloudwatch,
}
NO_PERMISSION = {("sts", "GetCallerIdentity")}


def needs(call: Call, account: Account) -> list[Need]:
    """The permissions `call` needs. Raises KeyError for an operation without a rule."""
    if (call.service, call.operation) in NO_PERMISSION:
        return []
    return RULES[call.service](call, account)


# -- policy evaluation ---------------------------------------------------------------------------
def _values(element: Any) -> list[str]:
    return [element] if isinstance(element, str) else list(element or [])


def _like(pattern: str, value: str, *, case: bool = True) -> bool:
    """IAM's wildcards: `*` any run of characters, `?` one character; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda expected, actual: expected == actual,
    "StringLike": _like,
    "ArnEquals": lambda expected, actual: expected == actual,
    "ArnLike": _like,
}


class UnknownCondition(ValueError):
    """A condition operator this module does not evaluate."""


# The condition keys the rules above put in a request's context (`Need.context`). A condition on
# any other key (aws:ResourceAccount, kms:ViaService, ...) cannot be judged here.
CONTEXT_KEYS = {"s3:prefix", "cloudwatch:namespace", "aws:resourceaccount"}


def _condition_holds(condition: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    """Every operator and key must hold (keys compare case-insensitively, as IAM's do). A key
    the rules set but this request lacks fails (passes with `...IfExists`)."""
    context = {key.lower(): value for key, value in context.items()}
    for operator, entries in condition.items():
        base = operator.removesuffix("IfExists")
        if base not in _OPERATORS:
            raise UnknownCondition(operator)
        for key, expected in entries.items():
            if key.lower() not in CONTEXT_KEYS:
                raise UnknownCondition(f"{operator} on {key}")
            if key.lower() not in context:
                if operator.endswith("IfExists"):
                    continue
                return False
            if not any(_OPERATORS[base](value, context[key.lower()]) for value in _values(expected)):
                return False
    return True


def _matches(statement: dict[str, Any], need: Need, context: dict[str, str]) -> bool:
    if "NotAction" in statement or "NotResource" in statement:
        raise UnknownCondition("NotAction/NotResource")
    if not any(_like(action, need.action, case=False) for action in _values(statement.get("Action"))):
        return False
    if not any(_like(resource, need.resource) for resource in _values(statement.get("Resource"))):
        return False
    return _condition_holds(statement.get("Condition", {}), context | dict(need.context))


def allowed(statements: Iterable[dict[str, Any]], need: Need, context: dict[str, str] | None = None) -> bool:
    """Whether the statements allow `need` in a request whose global condition keys are
    `context`: no Deny matches and some Allow does."""
    verdicts = [s.get("Effect") for s in statements if _matches(s, need, context or {})]
    return "Deny" not in verdicts and "Allow" in verdicts


def problems(recorded: Iterable[Call], roles: dict[str, Role], account: Account) -> list[str]:
    """One line per permission a call needed and its role lacks (each once), naming the call,
    the role's logical id, the action, the resource and the condition keys."""
    found: dict[tuple[str, str, str], str] = {}
    for call in recorded:
        role = roles.get(call.role)
        where = f"{call.service}:{call.operation}"
        if role is None:
            found.setdefault((call.role, where, ""), f"{where} by {call.role}: a role the template does not define")
            continue
        try:
            required = needs(call, account)
        except KeyError:
            found.setdefault((call.role, where, "?"),
                             f"{where} by {role.logical_id}: no permission rule for this operation (permissions.py)")
            continue
        for need in required:
            try:  # every resource of the local stack is the account's
                ok = allowed(role.statements, need, {"aws:ResourceAccount": account.account})
            except UnknownCondition as exc:
                ok, detail = False, f" (cannot evaluate {exc})"
            else:
                detail = ""
            if not ok:
                context = "".join(f" with {k}={v!r}" for k, v in need.context)
                found.setdefault((role.logical_id, need.action, need.resource + context),
                                 f"{where} by {role.logical_id} needs {need.action} on {need.resource}{context}"
                                 f"{detail}; params {_short(call.params)}")
    return list(found.values())


def _short(params: dict[str, Any]) -> str:
    text = repr({k: v for k, v in params.items() if k not in {"Body", "input", "output", "Message"}})
    return text if len(text) <= 300 else text[:297] + "..."


def template_roles(cfn: dict[str, Any], resolve: Any) -> dict[str, Role]:
    """Every AWS::IAM::Role of the (translated) template by its ARN, with its inline policies'
    statements resolved (managed policies are AWS's: Lambda's logging and X-Ray, not checked)."""
    roles = {}
    for logical_id, resource in cfn.get("Resources", {}).items():
        if resource.get("Type") != "AWS::IAM::Role":
            continue
        statements = []
        for policy in resource.get("Properties", {}).get("Policies", []) or []:
            document = resolve(policy.get("PolicyDocument", {}))
            statements += [s for s in _values_dicts(document.get("Statement"))]
        for statement in statements:
            statement["Resource"] = [r for r in _values(statement.get("Resource")) if r is not None]
        roles[str(resolve.get_att(logical_id, "Arn"))] = Role(logical_id, statements)
    return roles


def _values_dicts(element: Any) -> list[dict[str, Any]]:
    return [element] if isinstance(element, dict) else list(element or [])


def encrypted_resources(cfn: dict[str, Any], resolve: Any, account: Account) -> dict[str, str]:
    """ARN of each bucket, queue and topic of the template -> the KMS key ARN it is encrypted with."""
    found = {}
    for logical_id, resource in cfn.get("Resources", {}).items():
        kind, props = resource.get("Type"), resource.get("Properties", {})
        if kind == "AWS::S3::Bucket":
            rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
            keys = [r.get("ServerSideEncryptionByDefault", {}).get("KMSMasterKeyID") for r in rules]
            arn, key = f"arn:{account.partition}:s3:::{resolve.ref(logical_id)}", next((k for k in keys if k), None)
        elif kind == "AWS::SQS::Queue":
            arn, key = str(resolve.get_att(logical_id, "Arn")), props.get("KmsMasterKeyId")
        elif kind == "AWS::SNS::Topic":
            arn, key = str(resolve.ref(logical_id)), props.get("KmsMasterKeyId")
        else:
            continue
        if key:
            found[arn] = str(resolve(key))
    return found
