"""Read `template.yaml` the way `sam deploy` does: translate SAM to CloudFormation offline.

Local paths (CodeUri, ContentUri, DefinitionUri, ScriptLocation) are recorded and swapped
for placeholders before translation, as `sam package` would swap them for S3 URIs.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

# Where `sam deploy` puts code and the job script by default: the bucket SAM CLI manages
# (aws-sam-cli-managed-default stack, bucket `aws-sam-cli-managed-default-samclisourcebucket-<id>`),
# the name the job role's ReadJobScript statement matches.
ARTIFACT_BUCKET = "aws-sam-cli-managed-default-samclisourcebucket-local"


class _NoManagedPolicies:
    """The template names managed policies by ARN only, so no IAM lookup is needed offline."""

    def load(self) -> dict[str, str]:
        return {}


@dataclass
class Template:
    """The SAM template, its CloudFormation translation and the local folders it points to."""

    root: Path
    sam: dict[str, Any]
    cfn: dict[str, Any]
    code_dirs: dict[str, Path] = field(default_factory=dict)
    layer_dirs: dict[str, tuple[Path, bool]] = field(default_factory=dict)
    scripts: dict[str, Path] = field(default_factory=dict)

    def logical_id(self, resolve: Any, physical: str) -> str:
        """The template name of a deployed function, from its physical name."""
        return next((k for k in self.code_dirs if resolve.ref(k) == physical), physical)

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.cfn["Resources"].items() if v["Type"] == type_}

    def layer_mounts(self, function_id: str) -> tuple[list[Path], list[Path]]:
        """A function's layers: folders on sys.path (built Python layers) and folders mounted at /opt."""
        layers = self.sam["Resources"][function_id]["Properties"].get("Layers", [])
        layers = list(self.sam.get("Globals", {}).get("Function", {}).get("Layers", [])) + list(layers)
        python, opt = [], []
        for layer in layers:
            ref = layer.get("Ref") if isinstance(layer, dict) else None
            if ref in self.layer_dirs:
                path, built = self.layer_dirs[ref]
                (python if built else opt).append(path)
        return python, opt


# A DefinitionSubstitutions placeholder outside any string: a number once substituted, since
# CloudFormation substitutes the definition's text (`"TimeoutSeconds": ${ExecutionTimeoutSeconds}`).
_NUMBER_PLACEHOLDER = re.compile(r"(:\s*)\$\{(\w+)\}")


def definition(text: str, numbers: dict[str, Any] | None = None) -> dict[str, Any]:
    """An ASL file's text as JSON: each number placeholder becomes `numbers[name]` when given,
    otherwise the string `"${name}"`. Raises ValueError for text that is not JSON then."""
    def value(match: re.Match[str]) -> str:
        name = match.group(2)
        return match.group(1) + (str(numbers[name]) if numbers and name in numbers else json.dumps("${%s}" % name))

    return json.loads(_NUMBER_PLACEHOLDER.sub(value, text))


def load_template(path: Path, parameters: dict[str, str] | None = None) -> Template:
    """Parse, record local paths, and translate `path` into CloudFormation."""
    root = path.parent
    sam = yaml_parse(path.read_text(encoding="utf-8"))
    work = copy.deepcopy(sam)
    tpl = Template(root=root, sam=sam, cfn={})
    for logical_id, resource in work["Resources"].items():
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::Serverless::Function":
            tpl.code_dirs[logical_id] = (root / props["CodeUri"]).resolve()
            props["CodeUri"] = f"s3://{ARTIFACT_BUCKET}/{logical_id}.zip"
        elif kind == "AWS::Serverless::LayerVersion":
            built = "BuildMethod" in resource.get("Metadata", {})
            tpl.layer_dirs[logical_id] = ((root / props["ContentUri"]).resolve(), built)
            props["ContentUri"] = f"s3://{ARTIFACT_BUCKET}/{logical_id}.zip"
        elif kind == "AWS::Serverless::StateMachine" and "DefinitionUri" in props:
            props["Definition"] = definition((root / props.pop("DefinitionUri")).read_text(encoding="utf-8"))
        elif kind == "AWS::Glue::Job":
            script = props["Command"]["ScriptLocation"]
            tpl.scripts[logical_id] = (root / script).resolve()
            props["Command"]["ScriptLocation"] = f"s3://{ARTIFACT_BUCKET}/{Path(script).name}"
    tpl.cfn = transform(work, parameters or {}, _NoManagedPolicies())
    return tpl
