"""Resolve CloudFormation intrinsics against a deployed moto stack.

moto's CloudFormation skips some properties (state machine substitutions, Glue resources);
the local stack applies those itself and needs the same values CloudFormation would compute.
"""

from __future__ import annotations

import re
from typing import Any

ACCOUNT_ID = "123456789012"
NAME_PROPERTY = {
    "AWS::Glue::Database": lambda p: p["DatabaseInput"]["Name"],
    "AWS::Glue::Crawler": lambda p: p["Name"],
    "AWS::Glue::Job": lambda p: p["Name"],
    "AWS::Glue::Classifier": lambda p: p["CsvClassifier"]["Name"],
    "AWS::Glue::SecurityConfiguration": lambda p: p["Name"],
}


class Resolver:
    """Evaluates Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Split, Fn::Select and Fn::If with moto's
    physical ids and ARNs."""

    def __init__(self, cfn: dict[str, Any], physical: dict[str, str], parameters: dict[str, str],
                 stack_name: str, region: str, session: Any, stack_id: str | None = None) -> None:
        self.cfn, self.physical, self.session = cfn, physical, session
        stack_id = stack_id or (f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/"
                                "00000000-0000-0000-0000-000000000000")
        self.values: dict[str, Any] = {
            "AWS::StackName": stack_name, "AWS::StackId": stack_id, "AWS::Region": region, "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": None,
        }
        for name, spec in cfn.get("Parameters", {}).items():
            self.values[name] = parameters.get(name, spec.get("Default"))

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical, attr)
            if fn == "Fn::Sub":
                return self.sub(arg)
            if fn == "Fn::Join":
                return arg[0].join(str(self(v)) for v in self(arg[1]))
            if fn == "Fn::Split":
                return str(self(arg[1])).split(arg[0])
            if fn == "Fn::Select":
                return self(arg[1])[int(self(arg[0]))]
            if fn == "Fn::If":
                condition, if_true, if_false = arg
                return self(if_true if self.condition(condition) else if_false)
        return {k: self(v) for k, v in node.items()}

    def condition(self, name: str) -> bool:
        return self._truth(self.cfn.get("Conditions", {})[name])

    def _truth(self, node: Any) -> bool:
        (fn, arg), = node.items()
        if fn == "Condition":
            return self.condition(arg)
        if fn == "Fn::Equals":
            left, right = self(arg)
            return str(left) == str(right)
        if fn == "Fn::Not":
            return not self._truth(arg[0])
        if fn == "Fn::And":
            return all(self._truth(a) for a in arg)
        if fn == "Fn::Or":
            return any(self._truth(a) for a in arg)
        raise NotImplementedError(f"condition function {fn} is not resolved locally")

    def ref(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        resource = self.cfn["Resources"][name]
        if resource["Type"] in NAME_PROPERTY:
            return self(NAME_PROPERTY[resource["Type"]](resource["Properties"]))
        return self.physical[name]

    def get_att(self, logical: str, attr: str) -> Any:
        kind = self.cfn["Resources"][logical]["Type"]
        physical = self.ref(logical)
        if kind == "AWS::Lambda::Function" and attr == "Arn":
            return self.session.client("lambda").get_function(FunctionName=physical)["Configuration"]["FunctionArn"]
        if kind == "AWS::IAM::Role" and attr == "Arn":
            return self.session.client("iam").get_role(RoleName=physical)["Role"]["Arn"]
        if kind == "AWS::S3::Bucket" and attr == "Arn":
            return f"arn:aws:s3:::{physical}"
        if kind == "AWS::KMS::Key" and attr == "Arn":
            return self.session.client("kms").describe_key(KeyId=physical)["KeyMetadata"]["Arn"]
        if kind == "AWS::Logs::LogGroup" and attr == "Arn":
            return f"arn:aws:logs:{self.values['AWS::Region']}:{ACCOUNT_ID}:log-group:{physical}:*"
        if kind == "AWS::SQS::Queue" and attr in {"Arn", "QueueName"}:
            arn = self.session.client("sqs").get_queue_attributes(
                QueueUrl=physical, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            return arn if attr == "Arn" else arn.rsplit(":", 1)[-1]
        if kind == "AWS::DynamoDB::Table" and attr == "Arn":
            return f"arn:aws:dynamodb:{self.values['AWS::Region']}:{ACCOUNT_ID}:table/{physical}"
        if kind == "AWS::SNS::Topic" and attr == "TopicName":
            return physical.rsplit(":", 1)[-1]
        raise NotImplementedError(f"Fn::GetAtt {logical}.{attr} ({kind}) is not resolved locally")

    def sub(self, arg: str | list) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self(arg[1]))

        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name in extra:
                return str(extra[name])
            if "." in name and name not in self.values:
                logical, attr = name.split(".", 1)
                return str(self.get_att(logical, attr))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)
