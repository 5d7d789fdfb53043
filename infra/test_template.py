#!/usr/bin/env python3
"""Contract and least-privilege tests for infra/template.yaml (plain unittest, no pytest).

Run: .venv/bin/python infra/test_template.py   (infra/check.sh runs it)

The tests read the offline SAM translation, i.e. what CloudFormation will really create, so
anything SAM adds behind our back (generated roles, managed policies) is seen too.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from translate import DEFAULT_TEMPLATE, load_sam, translate  # noqa: E402

# --- least-privilege snapshot ----------------------------------------------------------------
# action -> resources, per function, with intrinsics rendered as ${Logical.Attr}. Any new action,
# any widened resource (e.g. "${DataBucket.Arn}/*") or a new managed policy fails the test:
# broaden only on purpose, by editing this snapshot in the same change.
_DATA_KEY = {"kms:Decrypt": {"${DataKey.Arn}"}, "kms:DescribeKey": {"${DataKey.Arn}"},
             "kms:GenerateDataKey": {"${DataKey.Arn}"}}
EXPECTED_PERMISSIONS = {
    "IngestWebhookFunction": {
        "logs:CreateLogStream": {"${IngestWebhookLogGroup.Arn}"},
        "logs:PutLogEvents": {"${IngestWebhookLogGroup.Arn}"},
        "s3:PutObject": {"${DataBucket.Arn}/raw/*"},
        "dynamodb:GetItem": {"${ShopsTable.Arn}"},
        "secretsmanager:GetSecretValue": {
            "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/shops/*"
        },
        **_DATA_KEY,
    },
    "IngestFeedFunction": {
        "logs:CreateLogStream": {"${IngestFeedLogGroup.Arn}"},
        "logs:PutLogEvents": {"${IngestFeedLogGroup.Arn}"},
        "sqs:ReceiveMessage": {"${FeedFilesQueue.Arn}"},
        "sqs:DeleteMessage": {"${FeedFilesQueue.Arn}"},
        "sqs:GetQueueAttributes": {"${FeedFilesQueue.Arn}"},
        "s3:GetObject": {"${DataBucket.Arn}/incoming/*"},
        "s3:PutObject": {"${DataBucket.Arn}/raw/*", "${DataBucket.Arn}/quarantine/*"},
        "dynamodb:GetItem": {"${ShopsTable.Arn}"},
        **_DATA_KEY,
    },
    "NormalizeOrdersFunction": {
        "logs:CreateLogStream": {"${NormalizeOrdersLogGroup.Arn}"},
        "logs:PutLogEvents": {"${NormalizeOrdersLogGroup.Arn}"},
        "sqs:ReceiveMessage": {"${RawEventsQueue.Arn}"},
        "sqs:DeleteMessage": {"${RawEventsQueue.Arn}"},
        "sqs:GetQueueAttributes": {"${RawEventsQueue.Arn}"},
        "s3:GetObject": {"${DataBucket.Arn}/raw/*"},
        "s3:PutObject": {"${DataBucket.Arn}/canonical/*", "${DataBucket.Arn}/quarantine/*"},
        "dynamodb:GetItem": {"${ShopsTable.Arn}"},
        **_DATA_KEY,
    },
}

# The points functions: DynamoDB uses the data key through its own grant, so they hold no kms:*
# for the table (see the comment above UnifyPointsRole in the template). unify-points' kms:* is
# for S3: reading canonical files, writing the order -> member export.
_POINTS_RW = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
              "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"}
EXPECTED_PERMISSIONS.update({
    "UnifyPointsFunction": {
        "logs:CreateLogStream": {"${UnifyPointsLogGroup.Arn}"},
        "logs:PutLogEvents": {"${UnifyPointsLogGroup.Arn}"},
        "sqs:ReceiveMessage": {"${CanonicalOrdersQueue.Arn}"},
        "sqs:DeleteMessage": {"${CanonicalOrdersQueue.Arn}"},
        "sqs:GetQueueAttributes": {"${CanonicalOrdersQueue.Arn}"},
        "s3:GetObject": {"${DataBucket.Arn}/canonical/orders/*", "${DataBucket.Arn}/canonical/member_signups/*"},
        "s3:PutObject": {"${DataBucket.Arn}/canonical/order_members/*", "${DataBucket.Arn}/canonical/member_merges/*"},
        **{a: {"${PointsTable.Arn}"} for a in _POINTS_RW},
        "dynamodb:GetItem": {"${PointsTable.Arn}", "${ShopsTable.Arn}"},
        "secretsmanager:GetSecretValue": {"${IdentityKeySecret}"},
        "kms:Decrypt": {"${DataKey.Arn}"},
        "kms:GenerateDataKey": {"${DataKey.Arn}"},
    },
    "MembersApiFunction": {
        "logs:CreateLogStream": {"${MembersApiLogGroup.Arn}"},
        "logs:PutLogEvents": {"${MembersApiLogGroup.Arn}"},
        **{a: {"${PointsTable.Arn}"} for a in _POINTS_RW},
        "secretsmanager:GetSecretValue": {"${IdentityKeySecret}"},
        "kms:Decrypt": {"${DataKey.Arn}"},
    },
    "PointsExpiryFunction": {
        "logs:CreateLogStream": {"${PointsExpiryLogGroup.Arn}"},
        "logs:PutLogEvents": {"${PointsExpiryLogGroup.Arn}"},
        **{a: {"${PointsTable.Arn}"} for a in _POINTS_RW - {"dynamodb:BatchGetItem"}},
        "dynamodb:Scan": {"${PointsTable.Arn}"},
        "dynamodb:GetItem": {"${PointsTable.Arn}", "${ShopsTable.Arn}"},
        "sqs:SendMessage": {"${PointsExpiryDLQ.Arn}"},
    },
})

# nightly-rollup: reads canonical/ and both tables, writes only rollups/ and curated/; its Distributed
# Map workers (same binary) read canonical/ and the shop registry and write only partials.
_RO_TABLE = ("dynamodb:Scan", "dynamodb:GetItem", "dynamodb:Query")
EXPECTED_PERMISSIONS.update({
    "NightlyRollupFunction": {
        "logs:CreateLogStream": {"${NightlyRollupLogGroup.Arn}"},
        "logs:PutLogEvents": {"${NightlyRollupLogGroup.Arn}"},
        "s3:GetObject": {"${DataBucket.Arn}/canonical/*", "${DataBucket.Arn}/rollups/*", "${DataBucket.Arn}/curated/*"},
        "s3:ListBucket": {"${DataBucket.Arn}"},
        "s3:PutObject": {"${DataBucket.Arn}/rollups/*", "${DataBucket.Arn}/curated/*"},
        "s3:DeleteObject": {"${DataBucket.Arn}/rollups/*", "${DataBucket.Arn}/curated/*"},
        **{a: {"${ShopsTable.Arn}", "${PointsTable.Arn}"} for a in _RO_TABLE},
        "kms:Decrypt": {"${DataKey.Arn}"},
        "kms:GenerateDataKey": {"${DataKey.Arn}"},
        "sqs:SendMessage": {"${NightlyRollupDLQ.Arn}"},
    },
    "NightlyRollupMapFunction": {
        "logs:CreateLogStream": {"${NightlyRollupMapLogGroup.Arn}"},
        "logs:PutLogEvents": {"${NightlyRollupMapLogGroup.Arn}"},
        "s3:GetObject": {"${DataBucket.Arn}/canonical/*"},
        "s3:ListBucket": {"${DataBucket.Arn}"},
        "s3:PutObject": {"${DataBucket.Arn}/rollups/_partials/*"},
        **{a: {"${ShopsTable.Arn}"} for a in _RO_TABLE},
        "kms:Decrypt": {"${DataKey.Arn}"},
        "kms:GenerateDataKey": {"${DataKey.Arn}"},
    },
})

# s3:ListBucket is on the bucket itself, so every grant of it must be narrowed by s3:prefix.
EXPECTED_LIST_PREFIXES = {
    "NightlyRollupFunction": {"canonical/*", "rollups/*", "curated/*"},
    "NightlyRollupMapFunction": {"canonical/*"},
}

# Roles that belong to no function: role -> (service that assumes it, action -> resources).
EXPECTED_OTHER_ROLES = {
    "PointsExpiryScheduleRole": ("scheduler.amazonaws.com", {
        "lambda:InvokeFunction": {"${PointsExpiryFunction.Arn}"},
        "sqs:SendMessage": {"${PointsExpiryDLQ.Arn}"},
    }),
    "NightlyRollupScheduleRole": ("scheduler.amazonaws.com", {
        "lambda:InvokeFunction": {"${NightlyRollupFunction.Arn}"},
        "sqs:SendMessage": {"${NightlyRollupDLQ.Arn}"},
    }),
    # Inline policy + NightlyRollupStateMachineSelfPolicy (the Distributed Map's child executions).
    "NightlyRollupStateMachineRole": ("states.amazonaws.com", {
        "lambda:InvokeFunction": {"${NightlyRollupFunction.Arn}", "${NightlyRollupMapFunction.Arn}"},
        **{a: {"*"} for a in ("logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                               "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                               "logs:DescribeResourcePolicies", "logs:DescribeLogGroups")},
        **{a: {"*"} for a in ("xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
                               "xray:GetSamplingTargets")},
        "states:StartExecution": {"${NightlyRollupStateMachine}"},
        **{a: {"arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${NightlyRollupStateMachine.Name}/*"}
           for a in ("states:DescribeExecution", "states:StopExecution")},
    }),
}
# AWS::IAM::Policy resources allowed, each attached to one non-function role (a cycle otherwise).
EXPECTED_ATTACHED_POLICIES = {"NightlyRollupStateMachineSelfPolicy": "NightlyRollupStateMachineRole"}

# Every kms:* statement of a function role: (actions, kms:ViaService values, SecretARN context or None).
_S3, _DDB, _SM = ("s3.${AWS::Region}.${AWS::URLSuffix}", "dynamodb.${AWS::Region}.${AWS::URLSuffix}",
                  "secretsmanager.${AWS::Region}.${AWS::URLSuffix}")
_OLD_KMS = {(("kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"), frozenset({_S3, _DDB}), None)}
EXPECTED_KMS = {
    "IngestWebhookFunction": _OLD_KMS,
    "IngestFeedFunction": _OLD_KMS,
    "NormalizeOrdersFunction": _OLD_KMS,
    "UnifyPointsFunction": {(("kms:Decrypt", "kms:GenerateDataKey"), frozenset({_S3}), None),
                            (("kms:Decrypt",), frozenset({_SM}), "${IdentityKeySecret}")},
    "MembersApiFunction": {(("kms:Decrypt",), frozenset({_SM}), "${IdentityKeySecret}")},
    "PointsExpiryFunction": set(),
    "NightlyRollupFunction": {(("kms:Decrypt", "kms:GenerateDataKey"), frozenset({_S3}), None)},
    "NightlyRollupMapFunction": {(("kms:Decrypt", "kms:GenerateDataKey"), frozenset({_S3}), None)},
}

EXPECTED_BINARIES = {
    "IngestWebhookFunction": "ingest-webhook",
    "IngestFeedFunction": "ingest-feed",
    "NormalizeOrdersFunction": "normalize-orders",
    "UnifyPointsFunction": "unify-points",
    "MembersApiFunction": "members-api",
    "PointsExpiryFunction": "points-expiry",
    "NightlyRollupFunction": "nightly-rollup",
    "NightlyRollupMapFunction": "nightly-rollup",  # the Distributed Map's workers, same binary
}

# Exact environment per function (Globals add RUST_LOG and OMNILAKE_BUSINESS_TZ to all).
_GLOBAL_ENV = {"RUST_LOG": "info", "OMNILAKE_BUSINESS_TZ": {"Ref": "BusinessTimeZone"}}
_BUCKET = {"OMNILAKE_BUCKET": {"Ref": "DataBucket"}}
_SHOPS = {"OMNILAKE_SHOPS_TABLE": {"Ref": "ShopsTable"}}
_POINTS = {"OMNILAKE_POINTS_TABLE": {"Ref": "PointsTable"},
           "OMNILAKE_POINTS_EXPIRY_MONTHS": {"Ref": "PointsExpiryMonths"}}
_IDENTITY = {"OMNILAKE_IDENTITY_KEY_SECRET": {"Ref": "IdentityKeySecret"},
             "OMNILAKE_DEFAULT_COUNTRY": {"Ref": "DefaultCountry"}}
_ROLLUP_ALLOCATOR = {"MIMALLOC_PURGE_DELAY": "-1", "MIMALLOC_ALLOW_THP": "0"}
EXPECTED_ENV = {
    "IngestWebhookFunction": {**_GLOBAL_ENV, **_BUCKET, **_SHOPS,
                              "OMNILAKE_SECRET_PREFIX": {"Fn::Sub": "${AWS::StackName}/shops/"},
                              "OMNILAKE_MAX_BODY_BYTES": "1048576"},
    "IngestFeedFunction": {**_GLOBAL_ENV, **_BUCKET, **_SHOPS},
    "NormalizeOrdersFunction": {**_GLOBAL_ENV, **_BUCKET, **_SHOPS},
    "UnifyPointsFunction": {**_GLOBAL_ENV, **_BUCKET, **_SHOPS, **_POINTS, **_IDENTITY},
    "MembersApiFunction": {**_GLOBAL_ENV, **_POINTS, **_IDENTITY},
    "PointsExpiryFunction": {**_GLOBAL_ENV, **_SHOPS, **_POINTS},
    # mimalloc: freed memory stays mapped (re-faulting it cost ~5 s of CPU a big day); no THP.
    "NightlyRollupFunction": {**_GLOBAL_ENV, **_BUCKET, **_SHOPS, "OMNILAKE_POINTS_TABLE": {"Ref": "PointsTable"},
                              **_ROLLUP_ALLOCATOR},
    "NightlyRollupMapFunction": {**_GLOBAL_ENV, **_BUCKET, **_SHOPS, **_ROLLUP_ALLOCATOR},
}

# Allow statements with Resource "*" that cannot be narrowed: in a key policy "*" means "this key".
ALLOWED_STAR_RESOURCES = {
    ("DataKey", "AccountManagesKeyThroughIam"),
    ("DataKey", "CloudWatchLogsEncryptsThisAccountsLogGroups"),
    # Step Functions' vended log delivery and X-Ray have no resource-level permissions.
    ("NightlyRollupStateMachineRole", "LogDelivery"),
    ("NightlyRollupStateMachineRole", "XRayTracing"),
}

# Queues whose consumer is not in the template yet, with the timeout + batching window planned for it.
PLANNED_CONSUMERS: dict[str, dict[str, int]] = {}

# (prefix, suffix or None, queue)
EXPECTED_NOTIFICATIONS = {
    ("raw/", None, "RawEventsQueue"),
    ("incoming/", None, "FeedFilesQueue"),
    ("canonical/orders/", ".jsonl.gz", "CanonicalOrdersQueue"),
    ("canonical/member_signups/", ".jsonl.gz", "CanonicalOrdersQueue"),
}

# --- rollups: docs/tables.md is the definition of the tables; the Glue tables must match it ---------
DOCS_TABLES = Path(__file__).resolve().parent.parent / "docs" / "tables.md"
# Key columns the docs name in "One row per (...)" but do not repeat in the column table; all strings.
KEY_COLUMNS = {
    "sales_daily": ["platform", "shop_id", "store_id", "sku", "currency"],
    "inventory_daily": ["location_id", "sku"],
    "shop_daily": ["platform", "shop_id", "currency"],
    "customers_daily": ["platform"],
    "orders_hourly": ["platform", "shop_id"],  # then `hour`, which the column table lists
    "service_demand_daily": ["city", "sku"],
    "member_value": [],
    "order_lines": [],
}
# table -> zone of its location
ROLLUP_ZONES = {t: "rollups" for t in KEY_COLUMNS} | {"order_lines": "curated"}
PROJECTION = {
    "projection.enabled": "true",
    "projection.dt.type": "date",
    "projection.dt.format": "yyyy-MM-dd",
    "projection.dt.range": "2020-01-01,NOW",
    "projection.dt.interval": "1",
    "projection.dt.interval.unit": "DAYS",
}
_DOC_TYPE = re.compile(r"(?<![\w(])(decimal\(18,2\)|decimal|bigint|int|string|double|date|timestamp)(?![\w(])")


def doc_tables() -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """docs/tables.md -> {table: ("One row per ..." sentence, [(column, glue type), ...])}.

    Sections are "## `name`" or "## `zone/name`"; column rows are "| `a`, `b` | type[, type] | meaning |"
    with one type for all names or one per name ("decimal" is decimal(18,2), "nullable" is ignored)."""
    out = {}
    for section in re.split(r"^## ", DOCS_TABLES.read_text(encoding="utf-8"), flags=re.M)[1:]:
        title = re.match(r"`([^`]+)`", section)
        if not title:
            continue
        columns: list[tuple[str, str]] = []
        for line in section.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
            if len(cells) < 2 or cells[0] == "column" or set(cells[0]) <= set("-: "):
                continue
            names = re.findall(r"`([^`]+)`", cells[0])
            types = ["decimal(18,2)" if t == "decimal" else t for t in _DOC_TYPE.findall(cells[1])]
            if len(types) == 1:
                types *= len(names)
            if not names or len(types) != len(names):
                raise AssertionError(f"docs/tables.md: cannot read the column row {line!r}")
            columns += list(zip(names, types))
        if columns:
            row_per = " ".join(l for l in section.splitlines() if l.startswith("One row per"))
            out[title.group(1).rsplit("/", 1)[-1]] = (row_per, columns)
    return out


MEMBERS_ROUTES = {("get", "/members"), ("get", "/members/{member_id}"), ("get", "/members/{member_id}/ledger"),
                  ("post", "/members/{member_id}/redemptions")}


def render(value) -> str:
    """An intrinsic as a stable string: {"Fn::GetAtt": [X, Arn]} -> "${X.Arn}", Ref -> "${X}"."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Ref":
            return "${%s}" % arg
        if fn == "Fn::GetAtt":
            return "${%s}" % (".".join(arg) if isinstance(arg, list) else arg)
        if fn == "Fn::Sub":
            return arg if isinstance(arg, str) else arg[0]
    raise AssertionError(f"unexpected intrinsic in a policy: {value!r}")


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def ref_target(value) -> str:
    """Logical id behind a Ref or GetAtt."""
    if "Ref" in value:
        return value["Ref"]
    arg = value["Fn::GetAtt"]
    return arg[0] if isinstance(arg, list) else arg.split(".")[0]


def references(node) -> set[str]:
    """Logical ids a template fragment depends on (Ref, GetAtt, ${X} / ${X.Attr} in Sub)."""
    found: set[str] = set()
    if isinstance(node, list):
        for x in node:
            found |= references(x)
    elif isinstance(node, dict):
        for key, val in node.items():
            if key in ("Ref", "Fn::GetAtt"):
                found.add(ref_target(node))
            elif key == "Fn::Sub":
                text = val if isinstance(val, str) else val[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
            else:
                found |= references(val)
    return {f for f in found if not f.startswith("AWS::")}


class TemplateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # OMNILAKE_TEMPLATE lets a mutated copy be checked (proving the tests catch a defect).
        path = os.environ.get("OMNILAKE_TEMPLATE", str(DEFAULT_TEMPLATE))
        cls.sam = load_sam(path)
        cls.cfn = translate(path)
        cls.res = cls.cfn["Resources"]

    def of_type(self, type_: str) -> dict:
        return {k: v for k, v in self.res.items() if v["Type"] == type_}

    def props(self, logical_id: str) -> dict:
        return self.res[logical_id].get("Properties", {})

    def esms(self) -> list[tuple[str, str, dict]]:
        """(function logical id, queue logical id, mapping properties) per SQS event source."""
        out = []
        for esm in self.of_type("AWS::Lambda::EventSourceMapping").values():
            p = esm["Properties"]
            out.append((ref_target(p["FunctionName"]), ref_target(p["EventSourceArn"]), p))
        return out

    def policy_documents(self):
        """(owner logical id, policy document) for every policy in the template."""
        for lid, r in self.res.items():
            p = r.get("Properties", {})
            if r["Type"] == "AWS::IAM::Role":
                yield lid, p["AssumeRolePolicyDocument"]
                for pol in p.get("Policies", []):
                    yield lid, pol["PolicyDocument"]
            elif r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy",
                               "AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy"):
                yield lid, p["PolicyDocument"]
            elif r["Type"] == "AWS::KMS::Key":
                yield lid, p["KeyPolicy"]

    # --- IAM --------------------------------------------------------------------------------
    def role_statements(self, role_id: str) -> list[dict]:
        """Every statement of a role: its inline policies and the AWS::IAM::Policy resources attached to it."""
        docs = [pol["PolicyDocument"] for pol in self.props(role_id).get("Policies", [])]
        docs += [r["Properties"]["PolicyDocument"] for r in self.of_type("AWS::IAM::Policy").values()
                 if role_id in [ref_target(x) for x in r["Properties"].get("Roles", [])]]
        return [st for doc in docs for st in as_list(doc["Statement"])]

    def role_permissions(self, role_id: str) -> dict[str, set[str]]:
        """action -> rendered resources over every policy of a role (Allow only)."""
        got: dict[str, set[str]] = {}
        for st in self.role_statements(role_id):
            self.assertEqual(st["Effect"], "Allow")
            self.assertNotIn("NotAction", st)
            self.assertNotIn("NotResource", st)
            for action in as_list(st["Action"]):
                got.setdefault(action, set()).update(render(x) for x in as_list(st["Resource"]))
        return got

    def test_function_permissions_match_snapshot(self):
        functions = self.of_type("AWS::Lambda::Function")
        self.assertEqual(set(functions), set(EXPECTED_PERMISSIONS))
        extra_policies = self.of_type("AWS::IAM::Policy") | self.of_type("AWS::IAM::ManagedPolicy")
        for fn, r in functions.items():
            with self.subTest(function=fn):
                role_id = ref_target(r["Properties"]["Role"])
                role = self.props(role_id)
                self.assertNotIn("ManagedPolicyArns", role, "managed policies are not least privilege")
                self.assertFalse(
                    [p for p, v in extra_policies.items()
                     if role_id in [ref_target(x) for x in v["Properties"].get("Roles", [])]],
                    "permissions must live in the role's inline policy (snapshotted here)")
                self.assertEqual(self.role_permissions(role_id), EXPECTED_PERMISSIONS[fn])

    def test_every_role_is_snapshotted(self):
        function_roles = {ref_target(r["Properties"]["Role"]) for r in self.of_type("AWS::Lambda::Function").values()}
        roles = self.of_type("AWS::IAM::Role")
        self.assertEqual(set(roles), function_roles | set(EXPECTED_OTHER_ROLES))
        self.assertFalse(self.of_type("AWS::IAM::ManagedPolicy"))
        attached = {lid: [ref_target(x) for x in r["Properties"]["Roles"]]
                    for lid, r in self.of_type("AWS::IAM::Policy").items()}
        self.assertEqual(attached, {p: [role] for p, role in EXPECTED_ATTACHED_POLICIES.items()})
        self.assertFalse(set(EXPECTED_ATTACHED_POLICIES.values()) & function_roles)
        for role_id, (service, permissions) in EXPECTED_OTHER_ROLES.items():
            with self.subTest(role=role_id):
                p = self.props(role_id)
                self.assertNotIn("ManagedPolicyArns", p)
                (trust,) = p["AssumeRolePolicyDocument"]["Statement"]
                self.assertEqual(trust["Principal"], {"Service": service})
                self.assertEqual(trust["Condition"]["StringEquals"]["aws:SourceAccount"], {"Ref": "AWS::AccountId"})
                self.assertEqual(self.role_permissions(role_id), permissions)
        for role_id in function_roles:
            (trust,) = self.props(role_id)["AssumeRolePolicyDocument"]["Statement"]
            self.assertEqual(trust["Principal"], {"Service": "lambda.amazonaws.com"})

    def test_data_key_use_is_limited_by_service(self):
        """Every kms:* grant names the service it goes through (and, for the secret, the secret)."""
        for fn, r in self.of_type("AWS::Lambda::Function").items():
            got = set()
            for pol in self.props(ref_target(r["Properties"]["Role"]))["Policies"]:
                for st in as_list(pol["PolicyDocument"]["Statement"]):
                    actions = as_list(st["Action"])
                    if not any(a.startswith("kms:") for a in actions):
                        continue
                    self.assertTrue(all(a.startswith("kms:") for a in actions), "kms statements hold only kms:*")
                    cond = st["Condition"]
                    self.assertEqual(set(cond), {"StringEquals"})
                    eq = cond["StringEquals"]
                    self.assertLessEqual(set(eq), {"kms:ViaService", "kms:EncryptionContext:SecretARN"})
                    services = frozenset(render(s) for s in as_list(eq["kms:ViaService"]))
                    secret = render(eq["kms:EncryptionContext:SecretARN"]) if "kms:EncryptionContext:SecretARN" in eq else None
                    got.add((tuple(sorted(actions)), services, secret))
            with self.subTest(function=fn):
                self.assertEqual(got, EXPECTED_KMS[fn])

    def test_list_bucket_is_limited_by_prefix(self):
        for fn, r in self.of_type("AWS::Lambda::Function").items():
            prefixes: set[str] = set()
            for st in self.role_statements(ref_target(r["Properties"]["Role"])):
                if "s3:ListBucket" not in as_list(st["Action"]):
                    continue
                with self.subTest(function=fn, sid=st.get("Sid")):
                    self.assertEqual(as_list(st["Action"]), ["s3:ListBucket"], "ListBucket in a statement of its own")
                    self.assertEqual(set(st["Condition"]), {"StringLike"})
                    self.assertEqual(set(st["Condition"]["StringLike"]), {"s3:prefix"})
                    prefixes |= set(as_list(st["Condition"]["StringLike"]["s3:prefix"]))
            with self.subTest(function=fn):
                self.assertEqual(prefixes, EXPECTED_LIST_PREFIXES.get(fn, set()))

    def test_no_star_resources_or_actions_except_listed(self):
        for owner, doc in self.policy_documents():
            for st in as_list(doc["Statement"]):
                if st["Effect"] != "Allow":
                    continue
                sid = st.get("Sid", "")
                with self.subTest(owner=owner, sid=sid):
                    self.assertNotEqual(st.get("Principal"), "*", "Allow to everyone")
                    if "*" in as_list(st.get("Resource", [])):
                        self.assertIn((owner, sid), ALLOWED_STAR_RESOURCES)
                    for action in as_list(st.get("Action", [])):
                        if action.endswith(":*") or action == "*":
                            self.assertIn((owner, sid), ALLOWED_STAR_RESOURCES, f"wildcard action {action}")

    # --- queues ------------------------------------------------------------------------------
    def test_visibility_timeout_covers_six_consumer_timeouts(self):
        consumers = {q: (fn, p) for fn, q, p in self.esms()}
        redriven = {q for q, r in self.of_type("AWS::SQS::Queue").items() if "RedrivePolicy" in r["Properties"]}
        self.assertEqual(redriven, set(consumers) | set(PLANNED_CONSUMERS))
        for queue in redriven:
            with self.subTest(queue=queue):
                if queue in consumers:
                    fn, esm = consumers[queue]
                    timeout = self.props(fn)["Timeout"]
                    window = esm.get("MaximumBatchingWindowInSeconds", 0)
                else:
                    timeout, window = PLANNED_CONSUMERS[queue]["timeout"], PLANNED_CONSUMERS[queue]["batching_window"]
                self.assertGreaterEqual(self.props(queue)["VisibilityTimeout"], 6 * timeout + window)

    def test_every_queue_redrives_to_a_dlq(self):
        queues = self.of_type("AWS::SQS::Queue")
        dlqs = {ref_target(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
                for q in queues.values() if "RedrivePolicy" in q["Properties"]}
        # DLQs of asynchronous invocations: the schedule's and the function's own
        dlqs |= {ref_target(s["Properties"]["Target"]["DeadLetterConfig"]["Arn"])
                 for s in self.of_type("AWS::Scheduler::Schedule").values()}
        dlqs |= {ref_target(f["Properties"]["DeadLetterConfig"]["TargetArn"])
                 for f in self.of_type("AWS::Lambda::Function").values() if "DeadLetterConfig" in f["Properties"]}
        for name, q in queues.items():
            p = q["Properties"]
            with self.subTest(queue=name):
                self.assertIs(p.get("SqsManagedSseEnabled"), True)
                if name in dlqs:
                    self.assertEqual(p["MessageRetentionPeriod"], 14 * 24 * 3600)
                    continue
                self.assertIn("RedrivePolicy", p, "every source queue needs a DLQ")
                self.assertGreaterEqual(int(p["RedrivePolicy"]["maxReceiveCount"]), 5)
                dlq = ref_target(p["RedrivePolicy"]["deadLetterTargetArn"])
                # a redriven message keeps its enqueue time: the DLQ must outlive the source queue
                self.assertGreater(self.props(dlq)["MessageRetentionPeriod"], p["MessageRetentionPeriod"])

    def test_event_source_mappings(self):
        got = {(fn, q): p for fn, q, p in self.esms()}
        self.assertEqual(set(got), {("IngestFeedFunction", "FeedFilesQueue"),
                                    ("NormalizeOrdersFunction", "RawEventsQueue"),
                                    ("UnifyPointsFunction", "CanonicalOrdersQueue")})
        feed = got[("IngestFeedFunction", "FeedFilesQueue")]
        norm = got[("NormalizeOrdersFunction", "RawEventsQueue")]
        unify = got[("UnifyPointsFunction", "CanonicalOrdersQueue")]
        self.assertEqual(feed["BatchSize"], 5)
        self.assertEqual((norm["BatchSize"], norm["MaximumBatchingWindowInSeconds"]), (50, 2))
        self.assertEqual(unify["BatchSize"], 10)
        for p in (feed, norm, unify):
            self.assertEqual(p["FunctionResponseTypes"], ["ReportBatchItemFailures"])
            self.assertIn("MaximumConcurrency", p["ScalingConfig"])
        self.assertEqual(self.props("IngestFeedFunction")["Timeout"], 300)

    # --- bucket ------------------------------------------------------------------------------
    def test_bucket_notifications(self):
        bucket = self.res["DataBucket"]
        got = set()
        for qc in bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]:
            self.assertEqual(qc["Event"], "s3:ObjectCreated:*")
            rules = {r["Name"].lower(): r["Value"] for r in qc["Filter"]["S3Key"]["Rules"]}
            self.assertLessEqual(set(rules), {"prefix", "suffix"})
            got.add((rules["prefix"], rules.get("suffix"), ref_target(qc["Queue"])))
        self.assertEqual(got, EXPECTED_NOTIFICATIONS)
        # S3 rejects overlapping rules for the same event type: no prefix may start another.
        prefixes = sorted(p for p, _, _ in EXPECTED_NOTIFICATIONS)
        for a, b in zip(prefixes, prefixes[1:]):
            self.assertFalse(b.startswith(a), f"{a} overlaps {b}")
        # S3 validates destinations on write: every queue's policy must exist before the bucket.
        policies = {ref_target(q): lid for lid, r in self.of_type("AWS::SQS::QueuePolicy").items()
                    for q in r["Properties"]["Queues"]}
        for _, _, queue in EXPECTED_NOTIFICATIONS:
            self.assertIn(policies[queue], bucket["DependsOn"])
        self.assertIn("AccessLogBucketPolicy", bucket["DependsOn"])  # log delivery grant before logging

    def test_service_grants_admit_only_this_accounts_data_bucket(self):
        generated_name = "arn:aws:s3:::my-stack-databucket-1a2b3c4d5e6f"
        grants = {lid: ("s3.amazonaws.com", "sqs:SendMessage") for lid in self.of_type("AWS::SQS::QueuePolicy")}
        grants["AccessLogBucketPolicy"] = ("logging.s3.amazonaws.com", "s3:PutObject")
        for lid, (service, action) in grants.items():
            r = self.res[lid]
            allow = [s for s in r["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
            self.assertEqual(len(allow), 1)
            st = allow[0]
            with self.subTest(policy=lid):
                self.assertEqual(st["Principal"], {"Service": service})
                self.assertEqual(st["Action"], action)
                self.assertEqual(st["Condition"]["StringEquals"]["aws:SourceAccount"], {"Ref": "AWS::AccountId"})
                pattern = render(st["Condition"]["ArnLike"]["aws:SourceArn"]).replace("${AWS::Partition}", "aws")
                self.assertTrue(fnmatch.fnmatchcase(generated_name, pattern))
                self.assertFalse(fnmatch.fnmatchcase("arn:aws:s3:::my-stack-accesslogbucket-1a2b3c", pattern))
                self.assertNotIn("DataBucket", references(r), "referencing the bucket would be a cycle")

    def test_bucket_hardening(self):
        for name in ("DataBucket", "AccessLogBucket"):
            p = self.props(name)
            with self.subTest(bucket=name):
                self.assertEqual(p["VersioningConfiguration"], {"Status": "Enabled"})
                self.assertTrue(all(p["PublicAccessBlockConfiguration"][k] for k in (
                    "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")))
                self.assertEqual(p["OwnershipControls"]["Rules"], [{"ObjectOwnership": "BucketOwnerEnforced"}])
                self.assertIn("ServerSideEncryptionConfiguration", p["BucketEncryption"])
                rules = p["LifecycleConfiguration"]["Rules"]
                self.assertIn(30, [r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays") for r in rules])
                policy = next(r["Properties"]["PolicyDocument"] for r in self.of_type("AWS::S3::BucketPolicy").values()
                              if ref_target(r["Properties"]["Bucket"]) == name)
                self.assertTrue(any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                                    for s in policy["Statement"]))
        enc = self.props("DataBucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        self.assertEqual(enc["ServerSideEncryptionByDefault"]["SSEAlgorithm"], "aws:kms")
        self.assertTrue(self.props("DataKey")["EnableKeyRotation"])

    # --- table, functions, names -------------------------------------------------------------
    def test_tables(self):
        keys = {"ShopsTable": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "PointsTable": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]}
        self.assertEqual(set(self.of_type("AWS::DynamoDB::Table")), set(keys))
        for table, key in keys.items():
            p, r = self.props(table), self.res[table]
            with self.subTest(table=table):
                self.assertEqual(p["KeySchema"], key)
                self.assertEqual({a["AttributeName"]: a["AttributeType"] for a in p["AttributeDefinitions"]},
                                 {k["AttributeName"]: "S" for k in key})
                self.assertEqual(p["BillingMode"], "PAY_PER_REQUEST")
                self.assertTrue(p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"])
                self.assertEqual(p["SSESpecification"], {"SSEEnabled": True, "SSEType": "KMS",
                                                         "KMSMasterKeyId": {"Fn::GetAtt": ["DataKey", "Arn"]}})
                self.assertIs(p["DeletionProtectionEnabled"], True)
                self.assertEqual((r["DeletionPolicy"], r["UpdateReplacePolicy"]), ("Retain", "Retain"))

    def test_identity_key_secret_is_generated_and_kept(self):
        r = self.res["IdentityKeySecret"]
        p = r["Properties"]
        self.assertEqual(r["Type"], "AWS::SecretsManager::Secret")
        self.assertNotIn("SecretString", p, "the key must be generated, never written in the template")
        self.assertEqual(p["GenerateSecretString"], {"PasswordLength": 64, "ExcludePunctuation": True})
        self.assertEqual(p["KmsKeyId"], {"Fn::GetAtt": ["DataKey", "Arn"]})
        self.assertEqual((r["DeletionPolicy"], r["UpdateReplacePolicy"]), ("Retain", "Retain"))
        self.assertFalse(self.of_type("AWS::SecretsManager::RotationSchedule"), "rotation orphans every identity")

    def test_functions_build_and_environment(self):
        self.assertEqual(set(self.of_type("AWS::Lambda::Function")), set(EXPECTED_BINARIES))
        for fn, binary in EXPECTED_BINARIES.items():
            src = self.sam["Resources"][fn]
            p = self.props(fn)
            with self.subTest(function=fn):
                self.assertEqual(src["Metadata"]["BuildMethod"], "rust-cargolambda")
                self.assertEqual(src["Metadata"]["BuildProperties"]["Binary"], binary)
                self.assertEqual(src["Properties"]["CodeUri"], "../")
                self.assertEqual((p["Runtime"], p["Architectures"], p["Handler"]),
                                 ("provided.al2023", ["arm64"], "bootstrap"))
                self.assertEqual(p["Environment"]["Variables"], EXPECTED_ENV[fn])
                self.assertEqual(p["LoggingConfig"]["LogFormat"], "JSON")
                # each function its own group, named after it (IngestWebhookFunction -> IngestWebhookLogGroup)
                self.assertEqual(p["LoggingConfig"]["LogGroup"], {"Ref": fn.removesuffix("Function") + "LogGroup"})

    def test_environment_names_only_what_the_role_may_touch(self):
        """A function told about a resource (env var) must also be allowed to use it, and vice versa
        a role may not reach data resources the function was never told about."""
        data_types = {"AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::SecretsManager::Secret", "AWS::SQS::Queue"}
        for fn, r in self.of_type("AWS::Lambda::Function").items():
            env_refs = references(r["Properties"]["Environment"]["Variables"]) - set(self.cfn.get("Parameters", {}))
            role = self.props(ref_target(r["Properties"]["Role"]))
            role_refs = {x for x in references(role["Policies"]) if self.res[x]["Type"] in data_types}
            consumed = {q for f, q, _ in self.esms() if f == fn}  # queues reach it as events, not by name
            dlq = {ref_target(r["Properties"]["DeadLetterConfig"]["TargetArn"])} if "DeadLetterConfig" in r["Properties"] else set()
            with self.subTest(function=fn):
                self.assertLessEqual(env_refs, role_refs, "env names a resource the role cannot use")
                self.assertEqual(role_refs - env_refs, consumed | dlq, "role reaches a resource the env never names")

    def test_webhook_route(self):
        body = self.props("WebhookApi")["Body"]
        self.assertEqual(list(body["paths"]), ["/webhooks/{platform}/{shop_id}"])
        op = body["paths"]["/webhooks/{platform}/{shop_id}"]["post"]
        self.assertIn("${IngestWebhookFunction.Arn}", render(op["x-amazon-apigateway-integration"]["uri"]))
        self.assertNotIn("security", op, "platforms cannot sign with SigV4; the function verifies their signatures")

    def test_members_api_routes_require_iam(self):
        body = self.props("MembersApi")["Body"]
        routes = {(m, path) for path, ops in body["paths"].items() for m in ops}
        self.assertEqual(routes, MEMBERS_ROUTES)
        for path, ops in body["paths"].items():
            for method, op in ops.items():
                with self.subTest(route=f"{method} {path}"):
                    self.assertEqual(op["security"], [{"AWS_IAM": []}])
                    self.assertIn("${MembersApiFunction.Arn}", render(op["x-amazon-apigateway-integration"]["uri"]))
        scheme = body["components"]["securitySchemes"]["AWS_IAM"]
        self.assertEqual(scheme["x-amazon-apigateway-authtype"], "awsSigv4")
        stages = [s["Properties"] for s in self.of_type("AWS::ApiGatewayV2::Stage").values()
                  if ref_target(s["Properties"]["ApiId"]) == "MembersApi"]
        self.assertEqual(len(stages), 1)
        self.assertEqual(ref_target(stages[0]["AccessLogSettings"]["DestinationArn"]), "MembersApiAccessLogs")
        self.assertIn("ThrottlingRateLimit", stages[0]["DefaultRouteSettings"])

    def test_nightly_expiry_schedule(self):
        self.assertEqual(set(self.of_type("AWS::Scheduler::Schedule")), {"PointsExpirySchedule", "NightlyRollupSchedule"})
        p = self.props("PointsExpirySchedule")
        self.assertEqual(p["ScheduleExpression"], "cron(15 2 * * ? *)")
        self.assertEqual(p["ScheduleExpressionTimezone"], {"Ref": "BusinessTimeZone"})
        self.assertEqual(p["State"], "ENABLED")
        target = p["Target"]
        self.assertEqual(ref_target(target["Arn"]), "PointsExpiryFunction")
        self.assertEqual(ref_target(target["RoleArn"]), "PointsExpiryScheduleRole")
        self.assertEqual(target["Input"], "{}")
        self.assertGreater(target["RetryPolicy"]["MaximumRetryAttempts"], 0)
        self.assertEqual(ref_target(target["DeadLetterConfig"]["Arn"]), "PointsExpiryDLQ")
        self.assertEqual(self.props("PointsExpiryFunction")["Timeout"], 900)

    def test_nightly_rollup_function_and_schedule(self):
        fn = self.props("NightlyRollupFunction")
        self.assertEqual((fn["Timeout"], fn["MemorySize"], fn["ReservedConcurrentExecutions"]), (900, 3008, 1))
        self.assertNotIn("EphemeralStorage", fn)
        self.assertEqual(ref_target(fn["DeadLetterConfig"]["TargetArn"]), "NightlyRollupDLQ")
        workers = self.props("NightlyRollupMapFunction")
        self.assertEqual((workers["Timeout"], workers["MemorySize"]), (900, 3008))
        # the workers must not share the reserved concurrency of 1 (the Map would throttle itself)
        self.assertNotIn("ReservedConcurrentExecutions", workers)
        p = self.props("NightlyRollupSchedule")
        self.assertEqual(p["ScheduleExpression"], "cron(30 2 * * ? *)")
        self.assertEqual(p["ScheduleExpressionTimezone"], {"Ref": "BusinessTimeZone"})
        self.assertEqual((p["State"], p["FlexibleTimeWindow"]), ("ENABLED", {"Mode": "OFF"}))
        target = p["Target"]
        self.assertEqual(ref_target(target["Arn"]), "NightlyRollupFunction")
        self.assertEqual(ref_target(target["RoleArn"]), "NightlyRollupScheduleRole")
        self.assertEqual(target["Input"], "{}")  # the function computes the previous business day
        self.assertEqual(target["RetryPolicy"], {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3})
        self.assertEqual(ref_target(target["DeadLetterConfig"]["Arn"]), "NightlyRollupDLQ")
        dlq = self.props("NightlyRollupDLQ")
        self.assertIs(dlq["SqsManagedSseEnabled"], True)
        self.assertEqual(dlq["MessageRetentionPeriod"], 14 * 24 * 3600)

    def test_nightly_rollup_state_machine(self):
        p = self.props("NightlyRollupStateMachine")
        self.assertEqual(p["StateMachineType"], "STANDARD")
        self.assertEqual(ref_target(p["RoleArn"]), "NightlyRollupStateMachineRole")
        self.assertEqual(p["TracingConfiguration"], {"Enabled": True})
        log = p["LoggingConfiguration"]
        self.assertNotEqual(log["Level"], "OFF")
        (dest,) = log["Destinations"]
        self.assertEqual(ref_target(dest["CloudWatchLogsLogGroup"]["LogGroupArn"]), "NightlyRollupStateMachineLogGroup")
        subs = {k: ref_target(v) for k, v in p["DefinitionSubstitutions"].items()}
        self.assertEqual(subs, {"RollupFunctionArn": "NightlyRollupFunction",
                                "RollupMapFunctionArn": "NightlyRollupMapFunction"})
        d = p["Definition"]
        s = d["States"]
        self.assertEqual(d["StartAt"], "Plan")
        self.assertEqual(set(s), {"Plan", "Distributed", "Single", "MapChunks", "Reduce"})
        fn = "${RollupFunctionArn}"
        self.assertEqual((s["Plan"]["Resource"], s["Plan"]["Parameters"]), (fn, {"mode": "plan", "date.$": "$.date"}))
        self.assertEqual(s["Plan"]["Next"], "Distributed")
        choice = s["Distributed"]
        self.assertEqual(choice["Choices"], [{"Variable": "$.distributed", "BooleanEquals": True, "Next": "MapChunks"}])
        self.assertEqual(choice["Default"], "Single")
        self.assertEqual((s["Single"]["Resource"], s["Single"]["Parameters"]), (fn, {"date.$": "$.date"}))
        m = s["MapChunks"]
        self.assertEqual(m["ItemProcessor"]["ProcessorConfig"], {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"})
        self.assertEqual((m["ItemsPath"], m["MaxConcurrency"], m["ToleratedFailurePercentage"]), ("$.chunks", 40, 0))
        self.assertEqual(m["ItemSelector"], {"mode": "map", "date.$": "$.date", "chunk.$": "$$.Map.Item.Value"})
        self.assertIsNone(m["ResultPath"], "the Map's results would exceed the 256 KiB state limit")
        self.assertEqual(m["Next"], "Reduce")
        (worker,) = m["ItemProcessor"]["States"].values()
        self.assertEqual(worker["Resource"], "${RollupMapFunctionArn}")
        self.assertEqual((s["Reduce"]["Resource"], s["Reduce"]["Parameters"]), (fn, {"mode": "reduce", "date.$": "$.date"}))
        tasks = [s["Plan"], s["Single"], s["Reduce"], worker]
        for task in tasks:
            errors = {e for r in task["Retry"] for e in r["ErrorEquals"]}
            self.assertLessEqual({"Lambda.ServiceException", "Lambda.TooManyRequestsException"}, errors)
            self.assertNotIn("States.ALL", errors, "a failed rollup must fail, not loop")
        self.assertTrue(s["Single"]["End"] and s["Reduce"]["End"] and worker["End"])
        # the role may invoke exactly the functions the definition names
        invokable = self.role_permissions("NightlyRollupStateMachineRole")["lambda:InvokeFunction"]
        self.assertEqual(invokable, {"${%s.Arn}" % subs[t["Resource"][2:-1]] for t in tasks})

    def test_glue_tables_match_the_docs(self):
        docs = doc_tables()
        db = self.props("OmnilakeDatabase")
        self.assertEqual(db["DatabaseInput"]["Name"], {"Ref": "RollupDatabaseName"})
        tables = {r["Properties"]["TableInput"]["Name"]: r["Properties"] for r in self.of_type("AWS::Glue::Table").values()}
        self.assertEqual(set(tables), set(KEY_COLUMNS))
        self.assertEqual(set(docs), set(KEY_COLUMNS), "docs/tables.md sections")
        for name, p in tables.items():
            ti = p["TableInput"]
            row_per, doc_columns = docs[name]
            with self.subTest(table=name):
                self.assertEqual(p["DatabaseName"], {"Ref": "OmnilakeDatabase"})
                for key in KEY_COLUMNS[name]:
                    self.assertIn(key, row_per, "a key column the docs do not name")
                want = [(k, "string") for k in KEY_COLUMNS[name]] + doc_columns
                got = [(c["Name"], c["Type"]) for c in ti["StorageDescriptor"]["Columns"]]
                self.assertEqual(got, want)
                self.assertGreater(len(ti.get("Description", "")), 20)
                self.assertEqual(ti["TableType"], "EXTERNAL_TABLE")
                self.assertEqual(ti["PartitionKeys"], [{"Name": "dt", "Type": "string"}])
                sd = ti["StorageDescriptor"]
                location = f"s3://${{DataBucket}}/{ROLLUP_ZONES[name]}/{name}/"
                self.assertEqual(render(sd["Location"]), location)
                self.assertEqual(sd["SerdeInfo"]["SerializationLibrary"],
                                 "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe")
                self.assertEqual(sd["InputFormat"], "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat")
                self.assertEqual(sd["OutputFormat"], "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat")
                params = ti["Parameters"]
                self.assertEqual({k: params.get(k) for k in PROJECTION}, PROJECTION)
                # ${!dt} is Sub's escape: Athena receives the literal ${dt}
                self.assertEqual(render(params["storage.location.template"]), location + "dt=${!dt}/")
                self.assertEqual((params["classification"], params["parquet.compression"]), ("parquet", "ZSTD"))

    def test_outputs(self):
        outputs = self.cfn["Outputs"]
        self.assertEqual(outputs["PointsTableName"]["Value"], {"Ref": "PointsTable"})
        self.assertEqual(outputs["IdentityKeySecretArn"]["Value"], {"Ref": "IdentityKeySecret"})
        self.assertIn("${MembersApi}.execute-api.", render(outputs["MembersApiUrl"]["Value"]))
        self.assertEqual(outputs["NightlyRollupStateMachineArn"]["Value"], {"Ref": "NightlyRollupStateMachine"})
        self.assertEqual(outputs["GlueDatabaseName"]["Value"], {"Ref": "OmnilakeDatabase"})
        self.assertEqual(outputs["NightlyRollupDLQUrl"]["Value"], {"Ref": "NightlyRollupDLQ"})

    def test_no_hard_coded_physical_names(self):
        name_props = {"BucketName", "TableName", "QueueName", "FunctionName", "RoleName", "LogGroupName", "Name"}
        for lid, r in self.res.items():
            if r["Type"] in ("AWS::Lambda::Permission", "AWS::Lambda::EventSourceMapping"):
                continue  # FunctionName there is a reference, not a name
            with self.subTest(resource=lid):
                self.assertFalse(name_props & set(r.get("Properties", {})))

    def test_every_checkov_skip_is_justified(self):
        for lid, r in self.sam["Resources"].items():
            for skip in r.get("Metadata", {}).get("checkov", {}).get("skip", []):
                with self.subTest(resource=lid, check=skip.get("id")):
                    self.assertGreater(len(skip.get("comment", "").strip()), 20)


if __name__ == "__main__":
    unittest.main(verbosity=1)
