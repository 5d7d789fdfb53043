#!/usr/bin/env python3
"""Provision the omnilake stack on moto server from infra/template.yaml (one source of truth).

    local_provision.py --endpoint http://127.0.0.1:PORT --stack-name NAME \
        [--template infra/template.yaml] [--out .omnilake/stack.json] [--replace]

1. translate the SAM template offline (infra/translate.py);
2. upload the placeholder code zips the translated functions reference;
3. create_stack on moto's CloudFormation (or reuse the stack of that name if its template is the
   same; --replace deletes and recreates it);
4. fix-up pass: apply through the service APIs what moto's CloudFormation ignores, reading every
   value from the translated template (intrinsics resolved against the stack's physical resources),
   then read it back and fail loudly on any difference;
5. write --out: physical names, queue URLs, event source mappings, resolved function environments,
   HTTP routes -- what the local runner needs to poll queues and invoke functions like Lambda would.

moto 5.2.5 quirks met here (why the fix-up pass exists):
  * CloudFormation reports CREATE_COMPLETE while skipping types it does not know
    (AWS::SQS::QueuePolicy, AWS::S3::BucketPolicy, AWS::ApiGatewayV2::*): they appear in
    describe_stack_resources without a LogicalResourceId, and Outputs that reference them keep a
    literal "${WebhookApi}".
  * Buckets: only BucketEncryption is applied (and BucketKeyEnabled dropped); versioning, public
    access block, ownership controls, lifecycle, logging and notifications are ignored.
  * Tables: PointInTimeRecoverySpecification ignored (PITR DISABLED) and SSESpecification ignored;
    update_table cannot set SSE either, so table encryption is not emulated.
  * Functions: Architectures (reported x86_64) and LoggingConfig ignored. Irrelevant locally: the
    functions run under `cargo lambda watch`, moto only holds their configuration.
  * An *enabled* SQS event source mapping makes moto receive messages on every SendMessage and try
    to invoke the function through Docker; each failed attempt counts as a receive, so messages end
    up in the DLQ. The mappings are therefore created disabled here; a local poller plays Lambda.
  * A queue's Ref is https://sqs.us-east-1.amazonaws.com/..., not an endpoint URL: the URLs written
    out come from get_queue_url (http://127.0.0.1:PORT/ACCOUNT/NAME).
  * IAM, queue and key policies are stored but not enforced. Bucket policies are: an explicit
    Deny is evaluated on object calls, so the TLS-only deny ("aws:SecureTransport": "false") would
    answer 403 to every plain-HTTP call to moto; local copies of resource policies drop it.
    put_bucket_logging checks the target bucket's policy, so bucket policies go before logging.
  * KMS keys created by CloudFormation keep KeyPolicy as a dict; DescribeKey then answers 500
    until the policy is put again as a JSON string (done first in the fix-up pass).
  * S3 sends an s3:TestEvent to each queue when notifications are configured.
  * AWS::SecretsManager::Secret and AWS::Scheduler::Schedule are not CloudFormation types moto
    knows: a Ref to the secret resolves to None inside moto (the function environments written
    out here are resolved by this script, not by moto). The provisioner creates the secret itself
    (random value per GenerateSecretString) before anything is resolved; schedules are AWS-only.
  * AWS::Glue::Database and AWS::Glue::Table are not CloudFormation types moto knows either, but its
    Glue API is: the provisioner creates the catalog itself (create_glue_catalog) and reads it back.
  * AWS::StepFunctions::StateMachine is created with only its name and role: Definition (the object
    form; moto reads DefinitionString alone), DefinitionSubstitutions, LoggingConfiguration and
    TracingConfiguration are ignored, so the fix-up pass writes them with UpdateStateMachine. moto
    does not run executions (no Lambda invocation, no Distributed Map).
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import re
import secrets
import string
import sys
import time
import zipfile
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from translate import DEFAULT_TEMPLATE, load_sam, translate  # noqa: E402

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / ".omnilake" / "stack.json"

# What moto cannot emulate at all; written to stack.json so nobody mistakes local for AWS.
NOT_EMULATED = [
    "IAM, queue and key policies are stored but never enforced; bucket policies only partly",
    "TLS-only denies (aws:SecureTransport) are dropped from resource policies: moto is plain HTTP",
    "DynamoDB SSE with the data key (moto ignores SSESpecification)",
    "API Gateway HTTP API (moto CloudFormation skips AWS::ApiGatewayV2::*): the local runner serves "
    "http_routes itself",
    "Lambda invocation and SQS event source mappings (created disabled): the local runner polls the "
    "queues in event_source_mappings and invokes the functions",
    "S3 server access logs are configured but never delivered",
    "log group encryption with the data key (moto has no AssociateKmsKey and ignores KmsKeyId)",
    "Secrets Manager secrets of the template (moto CloudFormation has no AWS::SecretsManager::Secret): "
    "the provisioner creates them, GenerateSecretString with a local random value, kept while moto runs",
    "EventBridge Scheduler schedules (listed under schedules; invoke the target by hand: POST the "
    "input to $OMNILAKE_LAMBDA_URL/2015-03-31/functions/{binary}/invocations)",
    "HTTP API IAM authorisation (AWS_IAM/SigV4): the local runner serves the routes unsigned; the local "
    "stack's members-api checks a bearer token (OMNILAKE_API_TOKEN) instead",
    "Step Functions executions: the state machines exist in moto with their definitions (listed under "
    "state_machines) but never run; invoke each task's function by hand with the task's event instead",
    "Athena: the Glue catalog (database, tables, partition projection) is created in moto, which does not "
    "query it; read the Parquet files under rollups/ and curated/ with DuckDB or Polars",
]


class ProvisionError(RuntimeError):
    pass


class Unresolvable(Exception):
    """An intrinsic that points at something moto did not create (e.g. the HTTP API)."""


_NO_VALUE = object()


# --------------------------------------------------------------------------------------------
class Stack:
    """Physical view of a created stack plus an intrinsic-function resolver over the template."""

    def __init__(self, session: boto3.Session, endpoint: str, template: dict, stack_name: str):
        self.endpoint = endpoint
        self.template = template
        self.name = stack_name
        self._session = session
        self._config = Config(retries={"max_attempts": 2}, s3={"addressing_style": "path"})
        self._clients: dict[str, Any] = {}
        self.region = session.region_name
        self.account = self.client("sts").get_caller_identity()["Account"]
        self.stack_id = ""
        self.physical: dict[str, str] = {}
        self.params: dict[str, str] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service, endpoint_url=self.endpoint, config=self._config)
        return self._clients[service]

    def load(self) -> None:
        cf = self.client("cloudformation")
        desc = cf.describe_stacks(StackName=self.name)["Stacks"][0]
        self.stack_id = desc["StackId"]
        self.params = {k: str(v["Default"]) for k, v in self.template.get("Parameters", {}).items()
                       if "Default" in v}
        self.params.update({p["ParameterKey"]: p["ParameterValue"] for p in desc.get("Parameters", [])})
        self.physical = {}
        for r in cf.describe_stack_resources(StackName=self.name)["StackResources"]:
            # moto lists resources of types it skipped without a LogicalResourceId
            if r.get("LogicalResourceId") and r.get("PhysicalResourceId"):
                self.physical[r["LogicalResourceId"]] = r["PhysicalResourceId"]

    # ---- resolution
    def type_of(self, logical_id: str) -> str:
        return self.template["Resources"][logical_id]["Type"]

    def pseudo(self, name: str) -> Any:
        return {
            "AWS::Region": self.region, "AWS::AccountId": self.account, "AWS::StackName": self.name,
            "AWS::StackId": self.stack_id, "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": _NO_VALUE, "AWS::NotificationARNs": [],
        }[name]

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.params:
            return self.params[name]
        if name not in self.template["Resources"]:
            raise ProvisionError(f"Ref to unknown name {name!r}")
        if name not in self.physical:
            raise Unresolvable(name)
        if self.type_of(name) == "AWS::SQS::Queue":
            return self.queue_url(name)
        return self.physical[name]

    def queue_url(self, logical_id: str) -> str:
        queue_name = self.physical[logical_id].rstrip("/").rsplit("/", 1)[-1]
        return self.client("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"]

    def get_att(self, logical_id: str, attr: str) -> str:
        if logical_id not in self.physical:
            raise Unresolvable(f"{logical_id}.{attr}")
        phys, kind = self.physical[logical_id], self.type_of(logical_id)
        arn_prefix = f"arn:aws:{{}}:{self.region}:{self.account}"
        getters: dict[tuple[str, str], Callable[[], str]] = {
            ("AWS::S3::Bucket", "Arn"): lambda: f"arn:aws:s3:::{phys}",
            ("AWS::SQS::Queue", "Arn"): lambda: self.client("sqs").get_queue_attributes(
                QueueUrl=self.queue_url(logical_id), AttributeNames=["QueueArn"])["Attributes"]["QueueArn"],
            ("AWS::SQS::Queue", "QueueName"): lambda: phys.rsplit("/", 1)[-1],
            ("AWS::SQS::Queue", "QueueUrl"): lambda: self.queue_url(logical_id),
            ("AWS::DynamoDB::Table", "Arn"): lambda: self.client("dynamodb").describe_table(
                TableName=phys)["Table"]["TableArn"],
            ("AWS::KMS::Key", "Arn"): lambda: self.client("kms").describe_key(KeyId=phys)["KeyMetadata"]["Arn"],
            ("AWS::KMS::Key", "KeyId"): lambda: phys,
            ("AWS::Logs::LogGroup", "Arn"): lambda: arn_prefix.format("logs") + f":log-group:{phys}:*",
            ("AWS::IAM::Role", "Arn"): lambda: self.client("iam").get_role(RoleName=phys)["Role"]["Arn"],
            ("AWS::Lambda::Function", "Arn"): lambda: self.client("lambda").get_function_configuration(
                FunctionName=phys)["FunctionArn"],
            ("AWS::StepFunctions::StateMachine", "Arn"): lambda: phys,
            ("AWS::StepFunctions::StateMachine", "Name"): lambda: phys.rsplit(":", 1)[-1],
        }
        if (kind, attr) not in getters:
            raise ProvisionError(f"GetAtt {logical_id}.{attr} ({kind}) is not supported by the resolver")
        return getters[(kind, attr)]()

    def sub(self, text: str, variables: dict) -> str:
        def one(match: re.Match) -> str:
            expr = match.group(1)
            if expr.startswith("!"):
                return "${" + expr[1:] + "}"
            if expr in variables:
                return str(variables[expr])
            if "." in expr and not expr.startswith("AWS::"):
                return str(self.get_att(*expr.split(".", 1)))
            return str(self.ref(expr))
        return re.sub(r"\$\{([^}]+)\}", one, text)

    def resolve(self, node: Any) -> Any:
        """Evaluate CloudFormation intrinsics in `node` (conditions are not used by the template)."""
        if isinstance(node, list):
            return [v for v in (self.resolve(x) for x in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::GetAtt":
                lid, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(lid, attr)
            if fn == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                return self.sub(text, variables)
            if fn == "Fn::Join":
                return arg[0].join(str(x) for x in self.resolve(arg[1]))
            if fn == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if fn == "Fn::Split":
                return str(self.resolve(arg[1])).split(arg[0])
            if fn.startswith("Fn::") or fn == "Condition":
                raise ProvisionError(f"intrinsic {fn} is not supported by the resolver")
        out = {}
        for k, v in node.items():
            rv = self.resolve(v)
            if rv is not _NO_VALUE:
                out[k] = rv
        return out

    def props(self, logical_id: str) -> dict:
        return self.resolve(self.template["Resources"][logical_id].get("Properties", {}))

    def of_type(self, kind: str) -> list[str]:
        return [lid for lid, r in self.template["Resources"].items() if r["Type"] == kind]


# --------------------------------------------------------------------------------------------
def moto_template(cfn: dict) -> dict:
    """The translated template as moto gets it: event source mappings disabled (see quirks)."""
    cfn = copy.deepcopy(cfn)
    for res in cfn["Resources"].values():
        if res["Type"] == "AWS::Lambda::EventSourceMapping":
            res["Properties"]["Enabled"] = False
    return cfn


def upload_placeholder_code(stack: Stack, cfn: dict) -> None:
    """moto's Lambda needs the code object to exist; the real code runs under cargo lambda watch."""
    s3 = stack.client("s3")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("bootstrap", "#!/bin/sh\necho 'placeholder: run the real binary with cargo lambda watch' >&2\nexit 1\n")
    for res in cfn["Resources"].values():
        code = res.get("Properties", {}).get("Code", {}) if res["Type"] == "AWS::Lambda::Function" else {}
        if "S3Bucket" in code:
            try:
                s3.create_bucket(Bucket=code["S3Bucket"])
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
            s3.put_object(Bucket=code["S3Bucket"], Key=code["S3Key"], Body=buf.getvalue())


def ensure_stack(stack: Stack, cfn: dict, replace: bool) -> str:
    """Create the stack, or reuse it when it exists with the same template. Returns what happened."""
    cf = stack.client("cloudformation")
    body = moto_template(cfn)
    existing = None
    try:
        existing = cf.describe_stacks(StackName=stack.name)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" not in str(exc):
            raise
    if existing and existing["StackStatus"] == "DELETE_COMPLETE":
        existing = None
    if existing:
        same = False
        if existing["StackStatus"] == "CREATE_COMPLETE":
            stored = cf.get_template(StackName=stack.name)["TemplateBody"]  # botocore parses JSON bodies
            same = (json.loads(stored) if isinstance(stored, str) else json.loads(json.dumps(stored))) == body
        if same and not replace:
            return "reused"
        if not replace:
            why = "with a different template" if existing["StackStatus"] == "CREATE_COMPLETE" else "but is unusable"
            raise ProvisionError(
                f"stack {stack.name!r} exists ({existing['StackStatus']}) {why}: "
                "pass --replace, use another --stack-name or restart moto")
        cf.delete_stack(StackName=stack.name)
    cf.create_stack(StackName=stack.name, TemplateBody=json.dumps(body),
                    Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    deadline = time.monotonic() + 60
    while True:
        status = cf.describe_stacks(StackName=stack.name)["Stacks"][0]["StackStatus"]
        if status == "CREATE_COMPLETE":
            return "replaced" if existing else "created"
        if not status.endswith("IN_PROGRESS") or time.monotonic() > deadline:
            reasons = [e.get("ResourceStatusReason") for e in cf.describe_stack_events(StackName=stack.name)["StackEvents"]
                       if e.get("ResourceStatusReason")]
            raise ProvisionError(f"stack {stack.name}: {status}: {reasons[:5]}")
        time.sleep(0.2)


# --------------------------------------------------------------------------------------------
# Skipped types the fix-up pass (or the local runner) takes over; any other skipped type is fatal.
TAKEN_OVER = {"AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy", "AWS::ApiGatewayV2::Api",
              "AWS::ApiGatewayV2::Stage", "AWS::Lambda::Permission"}
# Created by create_secrets() below, before verify_created.
CREATED_HERE = {"AWS::SecretsManager::Secret", "AWS::Glue::Database", "AWS::Glue::Table"}
# Exist only in AWS; described in stack.json (schedules) and NOT_EMULATED.
AWS_ONLY = {"AWS::Scheduler::Schedule"}


def verify_created(stack: Stack) -> None:
    """moto says CREATE_COMPLETE even when it skipped a resource: check each one really exists."""
    missing = []
    checks = {
        "AWS::S3::Bucket": lambda p: stack.client("s3").head_bucket(Bucket=p),
        "AWS::SQS::Queue": lambda p: stack.client("sqs").get_queue_url(QueueName=p.rsplit("/", 1)[-1]),
        "AWS::DynamoDB::Table": lambda p: stack.client("dynamodb").describe_table(TableName=p),
        # not DescribeKey: it fails until fix_up rewrites the key policy (see there)
        "AWS::KMS::Key": lambda p: stack.client("kms").get_key_rotation_status(KeyId=p),
        "AWS::IAM::Role": lambda p: stack.client("iam").get_role(RoleName=p),
        "AWS::Lambda::Function": lambda p: stack.client("lambda").get_function(FunctionName=p),
        "AWS::Logs::LogGroup": lambda p: next(g for g in stack.client("logs").describe_log_groups(
            logGroupNamePrefix=p)["logGroups"] if g["logGroupName"] == p),
        "AWS::Lambda::EventSourceMapping": lambda p: stack.client("lambda").get_event_source_mapping(UUID=p),
        "AWS::SecretsManager::Secret": lambda p: stack.client("secretsmanager").get_secret_value(SecretId=p),
        "AWS::StepFunctions::StateMachine": lambda p: stack.client("stepfunctions").describe_state_machine(
            stateMachineArn=p),
        "AWS::Glue::Database": lambda p: stack.client("glue").get_database(Name=p),
    }
    for lid, res in stack.template["Resources"].items():
        kind = res["Type"]
        if kind in TAKEN_OVER or kind in AWS_ONLY:
            continue
        if lid not in stack.physical:
            missing.append(f"{lid} ({kind}): not created by moto")
            continue
        check = checks.get(kind)
        if kind == "AWS::Glue::Table":  # Ref is the table's name; its database is in the template
            def check(p, lid=lid):
                return stack.client("glue").get_table(DatabaseName=stack.props(lid)["DatabaseName"], Name=p)
        if check:
            try:
                check(stack.physical[lid])
            except (ClientError, StopIteration) as exc:
                missing.append(f"{lid} ({kind}) {stack.physical[lid]}: {exc}")
    if missing:
        raise ProvisionError("resources missing after create_stack:\n  " + "\n  ".join(missing))


def _generated_secret(lid: str, spec: dict) -> str:
    """A value as Secrets Manager's GetRandomPassword would make it, for the options the template uses."""
    _unknown(f"{lid}.GenerateSecretString", spec, {"PasswordLength", "ExcludePunctuation", "ExcludeCharacters",
                                                   "ExcludeLowercase", "ExcludeUppercase", "ExcludeNumbers",
                                                   "IncludeSpace"})
    if "SecretStringTemplate" in spec or "GenerateStringKey" in spec:
        raise ProvisionError(f"{lid}: JSON secret templates are not supported locally; extend local_provision.py")
    chars = ""
    if not spec.get("ExcludeLowercase"):
        chars += string.ascii_lowercase
    if not spec.get("ExcludeUppercase"):
        chars += string.ascii_uppercase
    if not spec.get("ExcludeNumbers"):
        chars += string.digits
    if not spec.get("ExcludePunctuation"):
        chars += string.punctuation
    if spec.get("IncludeSpace"):
        chars += " "
    chars = "".join(c for c in chars if c not in spec.get("ExcludeCharacters", ""))
    length = int(spec.get("PasswordLength", 32))
    if not chars or length < 1:
        raise ProvisionError(f"{lid}: GenerateSecretString leaves nothing to generate from")
    return "".join(secrets.choice(chars) for _ in range(length))


def create_secrets(stack: Stack) -> list[str]:
    """moto's CloudFormation skips AWS::SecretsManager::Secret: create each secret here (named
    "{stack}-{LogicalId}", or its Name), generating its value locally; an existing secret keeps its
    value (it is a key: replacing it would orphan what was derived from it). Registers the secret's
    ARN as its physical id, which is what Ref returns in AWS."""
    sm, done = stack.client("secretsmanager"), []
    for lid in stack.of_type("AWS::SecretsManager::Secret"):
        props = stack.props(lid)
        _unknown(lid, props, {"Name", "Description", "KmsKeyId", "GenerateSecretString", "SecretString", "Tags"})
        name = props.get("Name") or f"{stack.name}-{lid}"
        try:
            arn = sm.describe_secret(SecretId=name)["ARN"]
            outcome = "kept"
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            value = props["SecretString"] if "SecretString" in props else \
                _generated_secret(lid, props.get("GenerateSecretString", {}))
            arn = sm.create_secret(Name=name, SecretString=value, Description=props.get("Description", ""),
                                   **({"KmsKeyId": props["KmsKeyId"]} if "KmsKeyId" in props else {}),
                                   **({"Tags": props["Tags"]} if "Tags" in props else {}))["ARN"]
            outcome = "created"
        current = sm.get_secret_value(SecretId=arn).get("SecretString")
        if not current:
            raise ProvisionError(f"{lid} ({name}): secret has no string value")
        spec = props.get("GenerateSecretString")
        if spec and len(current) != int(spec.get("PasswordLength", 32)):
            raise ProvisionError(f"{lid} ({name}): value is {len(current)} characters, "
                                 f"GenerateSecretString asks for {spec.get('PasswordLength', 32)}")
        stack.physical[lid] = arn
        done.append(f"{lid}: secret {name} {outcome}")
    return done


_GLUE_TABLE_INPUT = {"Name", "Description", "TableType", "Parameters", "PartitionKeys", "StorageDescriptor",
                     "Owner", "Retention"}
_GLUE_STORAGE = {"Columns", "Location", "InputFormat", "OutputFormat", "SerdeInfo", "Compressed",
                 "NumberOfBuckets", "BucketColumns", "SortColumns", "Parameters", "StoredAsSubDirectories"}


def create_glue_catalog(stack: Stack) -> list[str]:
    """moto's CloudFormation has no AWS::Glue::*, but moto's Glue API works: create each database
    and table here (a table that exists, on a reused stack, is updated to the template), read it
    back, and register what Ref gives in AWS (the database's and the table's name) as physical id."""
    glue, done = stack.client("glue"), []
    for lid in stack.of_type("AWS::Glue::Database"):
        props = stack.props(lid)
        _unknown(lid, props, {"CatalogId", "DatabaseInput"})
        db_input = props["DatabaseInput"]
        _unknown(f"{lid}.DatabaseInput", db_input, {"Name", "Description", "LocationUri", "Parameters"})
        if "Name" not in db_input:
            raise ProvisionError(f"{lid}: a database without DatabaseInput.Name is not supported locally")
        try:
            glue.get_database(Name=db_input["Name"])
            glue.update_database(Name=db_input["Name"], DatabaseInput=db_input)
            outcome = "updated"
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "EntityNotFoundException":
                raise
            glue.create_database(DatabaseInput=db_input)
            outcome = "created"
        stack.physical[lid] = db_input["Name"]
        done.append(f"{lid}: Glue database {db_input['Name']} {outcome}")
    for lid in stack.of_type("AWS::Glue::Table"):
        props = stack.props(lid)
        _unknown(lid, props, {"CatalogId", "DatabaseName", "TableInput"})
        db, table = props["DatabaseName"], props["TableInput"]
        _unknown(f"{lid}.TableInput", table, _GLUE_TABLE_INPUT)
        _unknown(f"{lid}.TableInput.StorageDescriptor", table.get("StorageDescriptor", {}), _GLUE_STORAGE)
        try:
            glue.get_table(DatabaseName=db, Name=table["Name"])
            glue.update_table(DatabaseName=db, TableInput=table)
            outcome = "updated"
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "EntityNotFoundException":
                raise
            glue.create_table(DatabaseName=db, TableInput=table)
            outcome = "created"
        got = glue.get_table(DatabaseName=db, Name=table["Name"])["Table"]
        for key in ("TableType", "Parameters", "PartitionKeys"):
            if got.get(key) != table.get(key):
                raise ProvisionError(f"{lid}: Glue table {key} is {got.get(key)!r}, want {table.get(key)!r}")
        for key, want in table.get("StorageDescriptor", {}).items():
            if got["StorageDescriptor"].get(key) != want:
                raise ProvisionError(f"{lid}: Glue table StorageDescriptor.{key} is "
                                     f"{got['StorageDescriptor'].get(key)!r}, want {want!r}")
        stack.physical[lid] = table["Name"]
        done.append(f"{lid}: Glue table {db}.{table['Name']} {outcome} ({len(table['StorageDescriptor']['Columns'])} "
                    f"columns, {table['StorageDescriptor']['Location']})")
    return done


def state_machine_definition(lid: str, props: dict) -> str:
    """The definition as Step Functions receives it: Definition (object) or DefinitionString, with
    DefinitionSubstitutions applied (every ${name} must have one, as CloudFormation requires)."""
    if "Definition" in props:
        text = json.dumps(props["Definition"])
    elif "DefinitionString" in props:
        text = props["DefinitionString"]
    else:
        raise ProvisionError(f"{lid}: only Definition or DefinitionString is supported locally")
    subs = props.get("DefinitionSubstitutions", {})

    def one(match: re.Match) -> str:
        if match.group(1) not in subs:
            raise ProvisionError(f"{lid}: ${{{match.group(1)}}} has no DefinitionSubstitutions entry")
        return str(subs[match.group(1)])
    text = re.sub(r"\$\{([^}]+)\}", one, text)
    json.loads(text)  # still JSON after substitution
    return text


def _unknown(lid: str, props: dict, known: set[str]) -> None:
    extra = set(props) - known
    if extra:
        raise ProvisionError(f"{lid}: fix-up pass does not know properties {sorted(extra)}; extend local_provision.py")


def _lifecycle_rule(rule: dict) -> dict:
    """CloudFormation lifecycle rule -> S3 API rule (the subset the template uses; loud otherwise)."""
    _unknown("LifecycleRule", rule, {"Id", "Status", "Prefix", "ExpirationInDays", "NoncurrentVersionExpiration",
                                     "NoncurrentVersionExpirationInDays", "AbortIncompleteMultipartUpload",
                                     "ExpiredObjectDeleteMarker"})
    out: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    expiration = {}
    if "ExpirationInDays" in rule:
        expiration["Days"] = int(rule["ExpirationInDays"])
    if "ExpiredObjectDeleteMarker" in rule:
        expiration["ExpiredObjectDeleteMarker"] = bool(rule["ExpiredObjectDeleteMarker"])
    if expiration:
        out["Expiration"] = expiration
    if "NoncurrentVersionExpiration" in rule:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])}
    elif "NoncurrentVersionExpirationInDays" in rule:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(rule["NoncurrentVersionExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        out["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])}
    return out


def local_policy(doc: dict) -> tuple[dict, str]:
    """A resource policy minus its TLS-only denies: moto serves plain HTTP and evaluates a bucket
    policy's explicit Deny on object calls, so "aws:SecureTransport": "false" would deny everything."""
    def tls_deny(st: dict) -> bool:
        return st.get("Effect") == "Deny" and \
            str(st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport", "")).lower() == "false"
    kept = [st for st in doc["Statement"] if not tls_deny(st)]
    dropped = len(doc["Statement"]) - len(kept)
    return {**doc, "Statement": kept}, (f" (dropped {dropped} TLS-only deny, moto is plain HTTP)" if dropped else "")


def fix_keys(stack: Stack) -> list[str]:
    """Keys before anything else: moto's CloudFormation stores KeyPolicy as a dict and DescribeKey
    then fails with a 500 until the policy is written again as a JSON string (and every GetAtt
    Key.Arn, e.g. a secret's KmsKeyId, needs DescribeKey)."""
    done: list[str] = []
    kms = stack.client("kms")
    for lid in stack.of_type("AWS::KMS::Key"):
        props = stack.props(lid)
        if "KeyPolicy" in props:
            kms.put_key_policy(KeyId=stack.physical[lid], PolicyName="default", Policy=json.dumps(props["KeyPolicy"]))
        if props.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=stack.physical[lid])
        kms.describe_key(KeyId=stack.physical[lid])
        done.append(f"{lid}: key policy, rotation")
    return done


def fix_up(stack: Stack) -> list[str]:
    """Apply what moto's CloudFormation ignored, from the template; returns a log of what was done."""
    done: list[str] = []
    s3, sqs = stack.client("s3"), stack.client("sqs")

    # Queue attributes, then queue policies (S3 validates notification destinations against them).
    queue_attrs = {"VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "MaximumMessageSize",
                   "ReceiveMessageWaitTimeSeconds", "RedrivePolicy", "SqsManagedSseEnabled", "KmsMasterKeyId",
                   "KmsDataKeyReusePeriodSeconds", "RedriveAllowPolicy"}
    for lid in stack.of_type("AWS::SQS::Queue"):
        props = stack.props(lid)
        _unknown(lid, props, queue_attrs | {"Tags", "QueueName", "FifoQueue", "ContentBasedDeduplication"})
        want = {k: json.dumps(v) if isinstance(v, dict) else str(v).lower() if isinstance(v, bool) else str(v)
                for k, v in props.items() if k in queue_attrs}
        url = stack.queue_url(lid)
        sqs.set_queue_attributes(QueueUrl=url, Attributes=want)
        got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        for k, v in want.items():
            same = json.loads(got.get(k, "null")) == json.loads(v) if k.endswith("Policy") else got.get(k) == v
            if not same:
                raise ProvisionError(f"{lid}: {k} is {got.get(k)!r} after set_queue_attributes, want {v!r}")
        done.append(f"{lid}: attributes {sorted(want)}")
    for lid in stack.of_type("AWS::SQS::QueuePolicy"):
        props = stack.props(lid)
        policy, note = local_policy(props["PolicyDocument"])
        for url in props["Queues"]:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        done.append(f"{lid}: queue policy{note}")

    # Bucket policies before bucket properties: moto's put_bucket_logging checks the target's policy.
    for lid in stack.of_type("AWS::S3::BucketPolicy"):
        props = stack.props(lid)
        policy, note = local_policy(props["PolicyDocument"])
        if policy["Statement"]:
            s3.put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(policy))
            done.append(f"{lid}: bucket policy{note}")
        else:
            done.append(f"{lid}: not applied{note}, nothing left")

    bucket_props = {"BucketEncryption", "VersioningConfiguration", "PublicAccessBlockConfiguration",
                    "OwnershipControls", "LifecycleConfiguration", "LoggingConfiguration",
                    "NotificationConfiguration", "Tags"}
    buckets = stack.of_type("AWS::S3::Bucket")
    # log-destination buckets first, so logging can point at a fully configured bucket
    buckets.sort(key=lambda b: "LoggingConfiguration" in stack.template["Resources"][b].get("Properties", {}))
    for lid in buckets:
        name, props = stack.physical[lid], stack.props(lid)
        _unknown(lid, props, bucket_props)
        applied = []
        if "OwnershipControls" in props:
            s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={"Rules": props["OwnershipControls"]["Rules"]})
            applied.append("ownership")
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
            applied.append("public-access-block")
        if "BucketEncryption" in props:
            rules = [{"ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"],
                      **({"BucketKeyEnabled": r["BucketKeyEnabled"]} if "BucketKeyEnabled" in r else {})}
                     for r in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
            applied.append("encryption")
        if "VersioningConfiguration" in props:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]})
            applied.append("versioning")
        if "LifecycleConfiguration" in props:
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={
                "Rules": [_lifecycle_rule(r) for r in props["LifecycleConfiguration"]["Rules"]]})
            applied.append("lifecycle")
        if "LoggingConfiguration" in props:
            lc = props["LoggingConfiguration"]
            s3.put_bucket_logging(Bucket=name, BucketLoggingStatus={"LoggingEnabled": {
                "TargetBucket": lc["DestinationBucketName"], "TargetPrefix": lc.get("LogFilePrefix", "")}})
            applied.append("logging")
        if "NotificationConfiguration" in props:
            nc = props["NotificationConfiguration"]
            _unknown(f"{lid}.NotificationConfiguration", nc, {"QueueConfigurations"})
            # Each write makes S3 send every queue an s3:TestEvent: write only when it differs.
            if _notifications(s3, name) != _wanted_notifications(nc):
                s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={"QueueConfigurations": [
                    {"QueueArn": q["Queue"], "Events": [q["Event"]],
                     **({"Filter": {"Key": {"FilterRules": q["Filter"]["S3Key"]["Rules"]}}} if "Filter" in q else {})}
                    for q in nc.get("QueueConfigurations", [])]})
            applied.append("notifications")
        verify_bucket(stack, lid, props)
        done.append(f"{lid}: {', '.join(applied)}")

    ddb = stack.client("dynamodb")
    for lid in stack.of_type("AWS::DynamoDB::Table"):
        name, props = stack.physical[lid], stack.props(lid)
        # moto's CloudFormation applies the key schema, attributes, billing mode and indexes itself;
        # SSESpecification is accepted and ignored (NOT_EMULATED); the rest is applied below.
        _unknown(lid, props, {"AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes",
                              "LocalSecondaryIndexes", "SSESpecification", "PointInTimeRecoverySpecification",
                              "TimeToLiveSpecification", "DeletionProtectionEnabled", "Tags"})
        want_keys = sorted((k["AttributeName"], k["KeyType"]) for k in props["KeySchema"])
        got_keys = sorted((k["AttributeName"], k["KeyType"]) for k in ddb.describe_table(TableName=name)["Table"]["KeySchema"])
        if got_keys != want_keys:
            raise ProvisionError(f"{lid}: key schema {got_keys} != {want_keys}")
        applied = []
        if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
            ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": True})
            status = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
            if status["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] != "ENABLED":
                raise ProvisionError(f"{lid}: PITR still disabled")
            applied.append("point-in-time recovery")
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            try:
                ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                    "Enabled": True, "AttributeName": ttl["AttributeName"]})
            except ClientError as exc:  # already enabled on a reused stack
                if "already enabled" not in str(exc).lower():
                    raise
            applied.append("ttl")
        if "DeletionProtectionEnabled" in props:
            if ddb.describe_table(TableName=name)["Table"].get("DeletionProtectionEnabled") != props["DeletionProtectionEnabled"]:
                ddb.update_table(TableName=name, DeletionProtectionEnabled=props["DeletionProtectionEnabled"])
            applied.append("deletion protection")
        done.append(f"{lid}: {', '.join(applied) or 'nothing to fix'}")

    # State machines: moto's CloudFormation kept only the name and role (see the quirks above).
    sfn = stack.client("stepfunctions")
    for lid in stack.of_type("AWS::StepFunctions::StateMachine"):
        props, arn = stack.props(lid), stack.physical[lid]
        _unknown(lid, props, {"Definition", "DefinitionString", "DefinitionSubstitutions", "RoleArn",
                              "LoggingConfiguration", "TracingConfiguration", "StateMachineType", "Tags"})
        definition = state_machine_definition(lid, props)
        update: dict[str, Any] = {"stateMachineArn": arn, "definition": definition, "roleArn": props["RoleArn"]}
        if "LoggingConfiguration" in props:
            lc = props["LoggingConfiguration"]
            _unknown(f"{lid}.LoggingConfiguration", lc, {"Level", "IncludeExecutionData", "Destinations"})
            update["loggingConfiguration"] = {
                "level": lc.get("Level", "OFF"), "includeExecutionData": bool(lc.get("IncludeExecutionData", False)),
                "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": d["CloudWatchLogsLogGroup"]["LogGroupArn"]}}
                                 for d in lc.get("Destinations", [])]}
        if "TracingConfiguration" in props:
            update["tracingConfiguration"] = {"enabled": bool(props["TracingConfiguration"].get("Enabled", False))}
        sfn.update_state_machine(**update)
        got = sfn.describe_state_machine(stateMachineArn=arn)
        problems = [k for k in ("loggingConfiguration", "tracingConfiguration", "roleArn") if k in update and got.get(k) != update[k]]
        if json.loads(got["definition"]) != json.loads(definition):
            problems.append("definition")
        if got["type"] != props.get("StateMachineType", "STANDARD"):
            problems.append(f"type {got['type']}")
        if problems:
            raise ProvisionError(f"{lid}: not applied: {problems}")
        done.append(f"{lid}: definition, logging, tracing")

    logs = stack.client("logs")
    for lid in stack.of_type("AWS::Logs::LogGroup"):
        props = stack.props(lid)
        if "RetentionInDays" in props:
            logs.put_retention_policy(logGroupName=stack.physical[lid], retentionInDays=int(props["RetentionInDays"]))
        # KmsKeyId: moto has no AssociateKmsKey (NotImplementedError -> 500); listed in NOT_EMULATED
        done.append(f"{lid}: retention")
    return done


def _notifications(s3, bucket: str) -> set:
    """Queue notifications of a bucket as {(queue arn, events, ((filter name, value), ...))}."""
    return {(q["QueueArn"], tuple(sorted(q["Events"])),
             tuple(sorted((r["Name"].lower(), r["Value"]) for r in q.get("Filter", {}).get("Key", {}).get("FilterRules", []))))
            for q in s3.get_bucket_notification_configuration(Bucket=bucket).get("QueueConfigurations", [])}


def _wanted_notifications(nc: dict) -> set:
    """The same shape from a resolved CloudFormation NotificationConfiguration."""
    return {(q["Queue"], (q["Event"],),
             tuple(sorted((r["Name"].lower(), r["Value"]) for r in q.get("Filter", {}).get("S3Key", {}).get("Rules", []))))
            for q in nc.get("QueueConfigurations", [])}


def verify_bucket(stack: Stack, lid: str, props: dict) -> None:
    """Read back what was just applied: moto answers 200 to some calls it does not honour."""
    s3, name = stack.client("s3"), stack.physical[lid]
    problems = []
    if "VersioningConfiguration" in props and \
            s3.get_bucket_versioning(Bucket=name).get("Status") != props["VersioningConfiguration"]["Status"]:
        problems.append("versioning")
    if "PublicAccessBlockConfiguration" in props:
        got = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        if got != props["PublicAccessBlockConfiguration"]:
            problems.append(f"public access block {got}")
    if "NotificationConfiguration" in props:
        got, want = _notifications(s3, name), _wanted_notifications(props["NotificationConfiguration"])
        if got != want:
            problems.append(f"notifications {got} != {want}")
    if "LifecycleConfiguration" in props:
        got = {r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]}
        if got != {r["Id"] for r in props["LifecycleConfiguration"]["Rules"]}:
            problems.append(f"lifecycle rules {got}")
    if problems:
        raise ProvisionError(f"{lid} ({name}): not applied: {problems}")


# --------------------------------------------------------------------------------------------
def describe(stack: Stack, sam: dict) -> dict:
    """The stack.json document: everything the local runner needs, resolved from the template."""
    res = stack.template["Resources"]
    binaries = {lid: (r.get("Metadata") or {}).get("BuildProperties", {}).get("Binary")
                or sam["Resources"].get(lid, {}).get("Metadata", {}).get("BuildProperties", {}).get("Binary")
                for lid, r in res.items() if r["Type"] == "AWS::Lambda::Function"}
    if not all(binaries.values()):
        raise ProvisionError(f"functions without Metadata.BuildProperties.Binary: {binaries}")

    entries = []
    for lid, binary in binaries.items():
        p = stack.props(lid)
        entries.append((binary, {
            "logical_id": lid,
            "function_name": stack.physical[lid],
            "timeout": int(p.get("Timeout", 3)),
            "memory_size": int(p.get("MemorySize", 128)),
            "env": p.get("Environment", {}).get("Variables", {}),
            "log_group": p.get("LoggingConfig", {}).get("LogGroup"),
        }))
    # One binary may be deployed as several functions (nightly-rollup and its Distributed Map
    # workers). Locally one `cargo lambda watch` binary serves them all, with the largest
    # environment, which must contain each other's; the others are listed under also_deployed_as.
    functions: dict[str, dict] = {}
    for binary, entry in sorted(entries, key=lambda e: -len(e[1]["env"])):
        if binary not in functions:
            functions[binary] = entry
            continue
        first = functions[binary]
        differs = sorted(k for k, v in entry["env"].items() if first["env"].get(k) != v)
        if differs:
            raise ProvisionError(f"{entry['logical_id']} and {first['logical_id']} run the same binary {binary} "
                                 f"but disagree on {differs}")
        first.setdefault("also_deployed_as", []).append({k: v for k, v in entry.items() if k != "env"})

    queues = {}
    for lid in stack.of_type("AWS::SQS::Queue"):
        p = stack.props(lid)
        if "RedrivePolicy" not in p:
            continue  # DLQs appear under their source queue
        dlq = next(d for d in stack.of_type("AWS::SQS::Queue")
                   if stack.get_att(d, "Arn") == p["RedrivePolicy"]["deadLetterTargetArn"])
        queues[lid] = {
            "url": stack.queue_url(lid), "arn": stack.get_att(lid, "Arn"),
            "dlq_url": stack.queue_url(dlq), "dlq_arn": stack.get_att(dlq, "Arn"),
            "max_receive_count": int(p["RedrivePolicy"]["maxReceiveCount"]),
            "visibility_timeout": int(p.get("VisibilityTimeout", 30)),
        }

    arn_to_queue = {stack.get_att(q, "Arn"): q for q in stack.of_type("AWS::SQS::Queue")}
    mappings = []
    for lid in stack.of_type("AWS::Lambda::EventSourceMapping"):
        raw = res[lid]["Properties"]
        fn = raw["FunctionName"]["Ref"] if "Ref" in raw["FunctionName"] else raw["FunctionName"]["Fn::GetAtt"][0]
        p = stack.props(lid)
        queue = arn_to_queue.get(p["EventSourceArn"])
        if queue is None:
            raise ProvisionError(f"{lid}: event source {p['EventSourceArn']} is not a queue of the stack")
        mappings.append({
            "function_logical_id": fn, "binary": binaries[fn], "queue": queue,
            "queue_url": stack.queue_url(queue),
            "batch_size": int(p.get("BatchSize", 10)),
            "max_batching_window_s": int(p.get("MaximumBatchingWindowInSeconds", 0)),
            "report_batch_item_failures": "ReportBatchItemFailures" in p.get("FunctionResponseTypes", []),
            "max_concurrency": p.get("ScalingConfig", {}).get("MaximumConcurrency"),
        })

    routes = []
    for lid in stack.of_type("AWS::ApiGatewayV2::Api"):
        for path, methods in res[lid]["Properties"].get("Body", {}).get("paths", {}).items():
            for method, op in methods.items():
                uri = op.get("x-amazon-apigateway-integration", {}).get("uri", {})
                target = re.search(r"\$\{(\w+)\.Arn\}", uri.get("Fn::Sub", "") if isinstance(uri, dict) else "")
                if target and target.group(1) in binaries:
                    routes.append({"method": method.upper(), "path": path, "binary": binaries[target.group(1)],
                                   "function_logical_id": target.group(1), "api": lid})

    schedules = []
    for lid in stack.of_type("AWS::Scheduler::Schedule"):
        raw = res[lid]["Properties"]
        target = raw["Target"]["Arn"]
        fn = target["Fn::GetAtt"][0] if isinstance(target, dict) and "Fn::GetAtt" in target else None
        if fn not in binaries:
            raise ProvisionError(f"{lid}: schedule target {target} is not a function of the stack")
        schedules.append({"logical_id": lid, "binary": binaries[fn], "function_logical_id": fn,
                          "expression": raw["ScheduleExpression"],
                          "timezone": stack.resolve(raw.get("ScheduleExpressionTimezone", "UTC")),
                          "input": raw["Target"].get("Input", "{}"), "emulated": False})

    arn_to_binary = {stack.get_att(lid, "Arn"): binary for lid, binary in binaries.items()}
    state_machines = {}
    for lid in stack.of_type("AWS::StepFunctions::StateMachine"):
        definition = json.loads(state_machine_definition(lid, stack.props(lid)))
        tasks = {}

        def walk(states: dict, item: dict | None) -> None:
            for name, state in states.items():
                if state.get("Type") == "Task" and state.get("Resource") in arn_to_binary:
                    # the event (JSONPaths unresolved): the task's Parameters, else its input, which
                    # inside a Map is the enclosing Map's ItemSelector
                    tasks[name] = {"binary": arn_to_binary[state["Resource"]],
                                   "parameters": state.get("Parameters", item)}
                for sub in [state.get("ItemProcessor"), state.get("Iterator")]:
                    if sub:
                        walk(sub["States"], state.get("ItemSelector", state.get("Parameters")))
                for branch in state.get("Branches", []):
                    walk(branch["States"], None)
        walk(definition["States"], None)
        state_machines[lid] = {"arn": stack.physical[lid], "start_at": definition["StartAt"], "tasks": tasks,
                               "emulated": False}

    glue: dict[str, dict[str, str]] = {}
    for lid in stack.of_type("AWS::Glue::Table"):
        p = stack.props(lid)
        glue.setdefault(p["DatabaseName"], {})[p["TableInput"]["Name"]] = p["TableInput"]["StorageDescriptor"]["Location"]

    outputs, unresolved = {}, []
    for key, out in stack.template.get("Outputs", {}).items():
        try:
            outputs[key] = stack.resolve(out["Value"])
        except Unresolvable:
            unresolved.append(key)

    secret_prefixes = {f["env"]["OMNILAKE_SECRET_PREFIX"] for f in functions.values() if "OMNILAKE_SECRET_PREFIX" in f["env"]}
    if len(secret_prefixes) > 1:
        raise ProvisionError(f"functions disagree on OMNILAKE_SECRET_PREFIX: {secret_prefixes}")

    return {
        "stack_name": stack.name,
        "region": stack.region,
        "endpoint": stack.endpoint,
        "account_id": stack.account,
        "bucket": stack.physical["DataBucket"],
        "tables": {lid: stack.physical[lid] for lid in stack.of_type("AWS::DynamoDB::Table")},
        "queues": queues,
        "event_source_mappings": mappings,
        "functions": functions,
        "http_routes": routes,
        "schedules": schedules,
        "state_machines": state_machines,
        "glue": glue,
        "secrets": {lid: stack.physical[lid] for lid in stack.of_type("AWS::SecretsManager::Secret")},
        "secret_prefix": secret_prefixes.pop() if secret_prefixes else None,
        "parameters": stack.params,
        "outputs": outputs,
        "outputs_not_emulated": unresolved,
        "resources": {lid: stack.physical.get(lid) for lid in res},
        "not_emulated": NOT_EMULATED,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Provision the omnilake stack on moto server from the SAM template.")
    ap.add_argument("--endpoint", required=True, help="moto server URL, e.g. http://127.0.0.1:5000")
    ap.add_argument("--stack-name", required=True)
    ap.add_argument("--template", default=str(DEFAULT_TEMPLATE))
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--replace", action="store_true", help="delete and recreate a stack whose template changed")
    args = ap.parse_args(argv)

    for key, default in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                         ("AWS_DEFAULT_REGION", "us-east-1")):
        os.environ.setdefault(key, default)
    session = boto3.Session(region_name=os.environ["AWS_DEFAULT_REGION"])

    started = time.monotonic()
    try:
        cfn = translate(args.template)
        stack = Stack(session, args.endpoint.rstrip("/"), cfn, args.stack_name)
        upload_placeholder_code(stack, cfn)
        outcome = ensure_stack(stack, cfn, args.replace)
        stack.load()
        done = fix_keys(stack)
        done += create_secrets(stack)
        done += create_glue_catalog(stack)
        verify_created(stack)
        done += fix_up(stack)
        doc = describe(stack, load_sam(args.template))
    except (ProvisionError, ClientError) as exc:
        print(f"local_provision: FAILED: {exc}", file=sys.stderr)
        return 1

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out)
    for line in done:
        print(f"local_provision: fix-up {line}")
    print(f"local_provision: stack {args.stack_name} {outcome}, {len(stack.physical)} resources, "
          f"{len(done)} fix-ups, wrote {out} ({time.monotonic() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
