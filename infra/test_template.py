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

EXPECTED_BINARIES = {
    "IngestWebhookFunction": "ingest-webhook",
    "IngestFeedFunction": "ingest-feed",
    "NormalizeOrdersFunction": "normalize-orders",
}

# Allow statements with Resource "*" that cannot be narrowed: in a key policy "*" means "this key".
ALLOWED_STAR_RESOURCES = {
    ("DataKey", "AccountManagesKeyThroughIam"),
    ("DataKey", "CloudWatchLogsEncryptsThisAccountsLogGroups"),
}

# Queues whose consumer is not in the template yet, with the timeout + batching window planned for it.
PLANNED_CONSUMERS = {"CanonicalOrdersQueue": {"timeout": 30, "batching_window": 5}}

EXPECTED_NOTIFICATIONS = {
    ("raw/", "RawEventsQueue"),
    ("incoming/", "FeedFilesQueue"),
    ("canonical/orders/", "CanonicalOrdersQueue"),
}


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
                got: dict[str, set[str]] = {}
                for pol in role.get("Policies", []):
                    for st in as_list(pol["PolicyDocument"]["Statement"]):
                        self.assertEqual(st["Effect"], "Allow")
                        self.assertNotIn("NotAction", st)
                        self.assertNotIn("NotResource", st)
                        for action in as_list(st["Action"]):
                            got.setdefault(action, set()).update(render(x) for x in as_list(st["Resource"]))
                self.assertEqual(got, EXPECTED_PERMISSIONS[fn])

    def test_data_key_use_is_limited_to_s3_and_dynamodb(self):
        for role_id in {ref_target(r["Properties"]["Role"]) for r in self.of_type("AWS::Lambda::Function").values()}:
            for pol in self.props(role_id)["Policies"]:
                for st in as_list(pol["PolicyDocument"]["Statement"]):
                    if any(a.startswith("kms:") for a in as_list(st["Action"])):
                        services = {render(s) for s in st["Condition"]["StringEquals"]["kms:ViaService"]}
                        self.assertEqual(services, {"s3.${AWS::Region}.${AWS::URLSuffix}",
                                                    "dynamodb.${AWS::Region}.${AWS::URLSuffix}"})

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
                                    ("NormalizeOrdersFunction", "RawEventsQueue")})
        feed = got[("IngestFeedFunction", "FeedFilesQueue")]
        norm = got[("NormalizeOrdersFunction", "RawEventsQueue")]
        self.assertEqual(feed["BatchSize"], 5)
        self.assertEqual((norm["BatchSize"], norm["MaximumBatchingWindowInSeconds"]), (50, 2))
        for p in (feed, norm):
            self.assertEqual(p["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        self.assertEqual(self.props("IngestFeedFunction")["Timeout"], 300)

    # --- bucket ------------------------------------------------------------------------------
    def test_bucket_notifications(self):
        bucket = self.res["DataBucket"]
        got = set()
        for qc in bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]:
            self.assertEqual(qc["Event"], "s3:ObjectCreated:*")
            rules = qc["Filter"]["S3Key"]["Rules"]
            prefix = [r["Value"] for r in rules if r["Name"].lower() == "prefix"]
            got.add((prefix[0], ref_target(qc["Queue"])))
        self.assertEqual(got, EXPECTED_NOTIFICATIONS)
        # S3 validates destinations on write: every queue's policy must exist before the bucket.
        policies = {ref_target(q): lid for lid, r in self.of_type("AWS::SQS::QueuePolicy").items()
                    for q in r["Properties"]["Queues"]}
        for _, queue in EXPECTED_NOTIFICATIONS:
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
    def test_shops_table(self):
        p = self.props("ShopsTable")
        self.assertEqual(p["KeySchema"], [{"AttributeName": "pk", "KeyType": "HASH"}])
        self.assertEqual(p["BillingMode"], "PAY_PER_REQUEST")
        self.assertTrue(p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"])
        self.assertTrue(p["SSESpecification"]["SSEEnabled"])

    def test_functions_build_and_environment(self):
        for fn, binary in EXPECTED_BINARIES.items():
            src = self.sam["Resources"][fn]
            p = self.props(fn)
            with self.subTest(function=fn):
                self.assertEqual(src["Metadata"]["BuildMethod"], "rust-cargolambda")
                self.assertEqual(src["Metadata"]["BuildProperties"]["Binary"], binary)
                self.assertEqual(src["Properties"]["CodeUri"], "../")
                self.assertEqual((p["Runtime"], p["Architectures"], p["Handler"]),
                                 ("provided.al2023", ["arm64"], "bootstrap"))
                env = p["Environment"]["Variables"]
                self.assertEqual(env["OMNILAKE_BUCKET"], {"Ref": "DataBucket"})
                self.assertEqual(env["OMNILAKE_SHOPS_TABLE"], {"Ref": "ShopsTable"})
                self.assertEqual(p["LoggingConfig"]["LogFormat"], "JSON")
        env = self.props("IngestWebhookFunction")["Environment"]["Variables"]
        self.assertEqual(env["OMNILAKE_SECRET_PREFIX"], {"Fn::Sub": "${AWS::StackName}/shops/"})

    def test_webhook_route(self):
        body = self.props("WebhookApi")["Body"]
        self.assertEqual(list(body["paths"]), ["/webhooks/{platform}/{shop_id}"])
        uri = body["paths"]["/webhooks/{platform}/{shop_id}"]["post"]["x-amazon-apigateway-integration"]["uri"]
        self.assertIn("${IngestWebhookFunction.Arn}", render(uri))

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
