#!/usr/bin/env python3
"""Translate the SAM template to plain CloudFormation JSON, offline.

cfn-lint (>= 1.54) no longer expands the SAM transform and moto's CloudFormation silently skips
AWS::Serverless::* resources, so both are fed this translation instead of the SAM source.

Offline means: no AWS credentials and no network. samtranslator only needs
  * a region (it builds partition-aware ARNs from boto3's default region),
  * S3 URIs for code (it refuses local paths, which `sam build` would normally upload), and
  * a managed-policy map, used only to resolve SAM policy names; the template uses none, so {}.

Usage: translate.py [--template infra/template.yaml] [--out target/infra/template.translated.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = REPO / "infra" / "template.yaml"
DEFAULT_OUT = REPO / "target" / "infra" / "template.translated.json"

# Local CodeUris become s3://PLACEHOLDER_CODE_BUCKET/<LogicalId>.zip; local_provision.py uploads a
# stub zip there because moto's Lambda wants the object to exist.
PLACEHOLDER_CODE_BUCKET = "omnilake-placeholder-code"

# samtranslator reads the region through boto3 at import and call time.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from samtranslator.model.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402


class _NoManagedPolicies:
    """Stands in for samtranslator's IAM-backed ManagedPolicyLoader (which calls AWS)."""

    def load(self) -> dict[str, str]:
        return {}


def load_sam(path: str | os.PathLike) -> dict:
    """The SAM template as a dict, short-form intrinsics (!Ref, !Sub…) expanded to long form."""
    return yaml_parse(Path(path).read_text(encoding="utf-8"))


def _placeholder_code_uris(sam: dict) -> dict:
    """Copy of the template with every local CodeUri/ContentUri replaced by an s3:// placeholder."""
    sam = copy.deepcopy(sam)
    uri_props = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}
    for logical_id, res in sam.get("Resources", {}).items():
        prop = uri_props.get(res.get("Type"))
        if not prop:
            continue
        props = res.setdefault("Properties", {})
        uri = props.get(prop, sam.get("Globals", {}).get("Function", {}).get("CodeUri"))
        if props.get("InlineCode") or props.get("ImageUri"):
            continue
        if not (isinstance(uri, str) and uri.startswith("s3://")) and not isinstance(uri, dict):
            props[prop] = f"s3://{PLACEHOLDER_CODE_BUCKET}/{logical_id}.zip"
    return sam


def translate(path: str | os.PathLike = DEFAULT_TEMPLATE) -> dict:
    """Translate the SAM template at `path`; returns the CloudFormation template as a dict.

    Resource Metadata is passed through, so checkov skips and the rust-cargolambda Binary stay
    visible on the translated AWS::Lambda::Function resources.
    """
    sam = _placeholder_code_uris(load_sam(path))
    return transform(sam, {}, _NoManagedPolicies(), passthrough_metadata=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--template", default=str(DEFAULT_TEMPLATE))
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    args = ap.parse_args(argv)
    try:
        cfn = translate(args.template)
    except InvalidDocumentException as exc:
        for cause in exc.causes:
            print(f"translate: {cause.message}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(cfn, indent=2) + "\n", encoding="utf-8")
    print(f"translate: {args.template} -> {out} ({len(cfn.get('Resources', {}))} resources)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
