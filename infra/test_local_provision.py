#!/usr/bin/env python3
"""infra/local_provision.py against a real moto server (plain unittest; needs the repo's .venv).

Run: .venv/bin/python infra/test_local_provision.py

Starts moto in-process on a free port, provisions the stack through the CLI, then checks what the
pipeline relies on: S3 -> SQS notifications per prefix, redrive to the DLQ, the shops table, the
resolved function environments, and that a second run reuses the stack.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import unittest
import urllib.parse
import warnings
from pathlib import Path

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

INFRA = Path(__file__).resolve().parent
PROVISION = INFRA / "local_provision.py"
TEMPLATE = Path(os.environ.get("OMNILAKE_TEMPLATE", INFRA / "template.yaml"))


def provision(endpoint: str, stack: str, out: Path, template: Path = TEMPLATE, *extra: str):
    return subprocess.run([sys.executable, str(PROVISION), "--endpoint", endpoint, "--stack-name", stack,
                           "--template", str(template), "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=120)


def s3_records(messages: list[dict]) -> list[dict]:
    """S3 event records from SQS messages, skipping moto's/S3's s3:TestEvent."""
    records = []
    for m in messages:
        body = json.loads(m["Body"])
        if body.get("Event") == "s3:TestEvent":
            continue
        records.extend(body["Records"])
    return records


def key_of(record: dict) -> str:
    # moto quote_plus-encodes the whole key ("/" arrives as %2F); real S3 encodes less. This decodes both.
    return urllib.parse.unquote_plus(record["s3"]["object"]["key"])


class LocalProvisionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # in-process moto: keep its request log and "not supported by CloudFormation" warnings quiet
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        logging.getLogger("moto").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", message="Tried to parse .* not supported by moto", category=UserWarning)
        cls.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        cls.server.start()
        host, port = cls.server.get_host_and_port()
        cls.endpoint = f"http://{host}:{port}"
        cls.tmp = tempfile.TemporaryDirectory()
        cls.out = Path(cls.tmp.name) / "stack.json"
        run = provision(cls.endpoint, "omnilake-test", cls.out)
        if run.returncode != 0:
            raise AssertionError(f"provisioning failed:\n{run.stdout}\n{run.stderr}")
        cls.first_run = run.stdout
        cls.doc = json.loads(cls.out.read_text())
        cfg = Config(s3={"addressing_style": "path"})
        cls.s3 = boto3.client("s3", endpoint_url=cls.endpoint, config=cfg)
        cls.sqs = boto3.client("sqs", endpoint_url=cls.endpoint)
        cls.ddb = boto3.client("dynamodb", endpoint_url=cls.endpoint)
        cls.sm = boto3.client("secretsmanager", endpoint_url=cls.endpoint)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.tmp.cleanup()

    def drain(self, queue: str) -> list[dict]:
        url = self.doc["queues"][queue]["url"]
        got = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not batch:
                return got
            for m in batch:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            got.extend(batch)

    def test_notifications_route_by_prefix(self):
        for q in self.doc["queues"]:
            self.drain(q)  # the s3:TestEvents sent when notifications were configured
        bucket = self.doc["bucket"]
        puts = {"raw/platform=shopify/shop=s1/dt=2024-05-01/x y.json": "RawEventsQueue",
                "incoming/orders/pos-2024-05-01.csv": "FeedFilesQueue",
                "canonical/orders/dt=2024-05-01/b1.jsonl.gz": "CanonicalOrdersQueue",
                "canonical/member_signups/dt=2024-05-01/b1.jsonl.gz": "CanonicalOrdersQueue",
                "canonical/orders/dt=2024-05-01/_manifest.json": None,  # suffix filter
                "canonical/refunds/dt=2024-05-01/b1.jsonl.gz": None,
                "quarantine/normalize/dt=2024-05-01/z.json": None,
                "canonical/inventory/dt=2024-05-01/b1.jsonl.gz": None}
        for key in puts:
            self.s3.put_object(Bucket=bucket, Key=key, Body=b"{}")
        for queue in self.doc["queues"]:
            want = sorted(k for k, q in puts.items() if q == queue)
            got = sorted(key_of(r) for r in s3_records(self.drain(queue)))
            self.assertEqual(got, want, queue)

    def test_redrive_to_dlq_after_max_receives(self):
        q = self.doc["queues"]["CanonicalOrdersQueue"]
        self.drain("CanonicalOrdersQueue")
        self.sqs.send_message(QueueUrl=q["url"], MessageBody="poison")
        for _ in range(q["max_receive_count"]):
            got = self.sqs.receive_message(QueueUrl=q["url"], VisibilityTimeout=0).get("Messages", [])
            self.assertEqual([m["Body"] for m in got], ["poison"])
        self.assertEqual(self.sqs.receive_message(QueueUrl=q["url"]).get("Messages", []), [])
        dead = self.sqs.receive_message(QueueUrl=q["dlq_url"]).get("Messages", [])
        self.assertEqual([m["Body"] for m in dead], ["poison"])
        attrs = self.sqs.get_queue_attributes(QueueUrl=q["url"], AttributeNames=["All"])["Attributes"]
        self.assertEqual(json.loads(attrs["RedrivePolicy"]), {"deadLetterTargetArn": q["dlq_arn"], "maxReceiveCount": 5})
        self.assertIn("s3.amazonaws.com", attrs["Policy"])

    def test_moto_does_not_consume_mapped_queues(self):
        # The mappings exist disabled; an enabled one would eat messages trying to run Docker.
        q = self.doc["queues"]["RawEventsQueue"]
        self.drain("RawEventsQueue")
        self.sqs.send_message(QueueUrl=q["url"], MessageBody="for-the-local-poller")
        got = self.drain("RawEventsQueue")
        self.assertEqual([m["Body"] for m in got], ["for-the-local-poller"])

    def test_shops_table(self):
        table = self.doc["tables"]["ShopsTable"]
        desc = self.ddb.describe_table(TableName=table)["Table"]
        self.assertEqual(desc["KeySchema"], [{"AttributeName": "pk", "KeyType": "HASH"}])
        pitr = self.ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        self.assertEqual(pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"], "ENABLED")
        self.ddb.put_item(TableName=table, Item={"pk": {"S": "shopify#s1"}, "time_zone": {"S": "Asia/Shanghai"}})
        item = self.ddb.get_item(TableName=table, Key={"pk": {"S": "shopify#s1"}})["Item"]
        self.assertEqual(item["time_zone"]["S"], "Asia/Shanghai")

    def test_points_table(self):
        table = self.doc["tables"]["PointsTable"]
        desc = self.ddb.describe_table(TableName=table)["Table"]
        self.assertEqual(desc["KeySchema"], [{"AttributeName": "pk", "KeyType": "HASH"},
                                             {"AttributeName": "sk", "KeyType": "RANGE"}])
        self.assertIs(desc.get("DeletionProtectionEnabled"), True)
        pitr = self.ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        self.assertEqual(pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"], "ENABLED")
        self.ddb.put_item(TableName=table, Item={"pk": {"S": "member#m1"}, "sk": {"S": "ledger#0001"}})
        got = self.ddb.query(TableName=table, KeyConditionExpression="pk = :p",
                             ExpressionAttributeValues={":p": {"S": "member#m1"}})["Items"]
        self.assertEqual([i["sk"]["S"] for i in got], ["ledger#0001"])

    def test_identity_key_secret(self):
        arn = self.doc["secrets"]["IdentityKeySecret"]
        self.assertEqual(self.doc["outputs"]["IdentityKeySecretArn"], arn)
        value = self.sm.get_secret_value(SecretId=arn)["SecretString"]
        self.assertEqual(len(value), 64)
        self.assertTrue(value.isalnum(), "ExcludePunctuation")
        for binary in ("unify-points", "members-api"):
            self.assertEqual(self.doc["functions"][binary]["env"]["OMNILAKE_IDENTITY_KEY_SECRET"], arn)
        for binary in ("ingest-webhook", "ingest-feed", "normalize-orders", "points-expiry"):
            self.assertNotIn("OMNILAKE_IDENTITY_KEY_SECRET", self.doc["functions"][binary]["env"])

    def test_aws_only_resources_are_described_not_created(self):
        self.assertEqual(self.doc["schedules"], [{
            "logical_id": "PointsExpirySchedule", "binary": "points-expiry",
            "function_logical_id": "PointsExpiryFunction", "expression": "cron(15 2 * * ? *)",
            "timezone": "Asia/Shanghai", "input": "{}", "emulated": False}, {
            "logical_id": "NightlyRollupSchedule", "binary": "nightly-rollup",
            "function_logical_id": "NightlyRollupFunction", "expression": "cron(30 2 * * ? *)",
            "timezone": "Asia/Shanghai", "input": "{}", "emulated": False}])
        self.assertIn("MembersApiUrl", self.doc["outputs_not_emulated"])
        self.assertTrue(any("Scheduler" in n for n in self.doc["not_emulated"]))

    def test_bucket_settings_applied(self):
        bucket = self.doc["bucket"]
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=bucket)["Status"], "Enabled")
        pab = self.s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        self.assertTrue(all(pab.values()))
        enc = self.s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        self.assertEqual(enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "aws:kms")
        # the log bucket keeps its log-delivery grant; TLS-only denies are dropped locally (plain HTTP)
        log_policy = self.s3.get_bucket_policy(Bucket=self.doc["resources"]["AccessLogBucket"])["Policy"]
        self.assertIn("logging.s3.amazonaws.com", log_policy)
        self.assertNotIn("aws:SecureTransport", log_policy)
        self.assertEqual(self.s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]["TargetPrefix"], "data-bucket/")

    def test_document_is_resolved_from_the_template(self):
        d = self.doc
        self.assertEqual(d["secret_prefix"], "omnilake-test/shops/")
        self.assertEqual(set(d["functions"]), {"ingest-webhook", "ingest-feed", "normalize-orders",
                                               "unify-points", "members-api", "points-expiry", "nightly-rollup"})
        # one binary, two functions: the local binary gets the fuller environment (the workers' is a subset)
        rollup = d["functions"]["nightly-rollup"]
        self.assertEqual(rollup["logical_id"], "NightlyRollupFunction")
        self.assertEqual([f["logical_id"] for f in rollup["also_deployed_as"]], ["NightlyRollupMapFunction"])
        self.assertEqual((rollup["timeout"], rollup["memory_size"]), (900, 3008))
        self.assertEqual(set(rollup["env"]) - {"RUST_LOG"}, {"OMNILAKE_BUCKET", "OMNILAKE_SHOPS_TABLE",
                                                            "OMNILAKE_POINTS_TABLE", "OMNILAKE_BUSINESS_TZ",
                                                            "MIMALLOC_PURGE_DELAY", "MIMALLOC_ALLOW_THP"})
        self.assertEqual(rollup["env"]["MIMALLOC_PURGE_DELAY"], "-1")
        self.assertEqual(rollup["env"]["MIMALLOC_ALLOW_THP"], "0")
        names = {"OMNILAKE_BUCKET": d["bucket"], "OMNILAKE_SHOPS_TABLE": d["tables"]["ShopsTable"],
                 "OMNILAKE_POINTS_TABLE": d["tables"]["PointsTable"]}
        for binary, fn in d["functions"].items():
            with self.subTest(function=binary):
                for var, value in names.items():
                    if var in fn["env"]:
                        self.assertEqual(fn["env"][var], value)
                self.assertTrue(all(isinstance(v, str) and v for v in fn["env"].values()), fn["env"])
                self.assertNotIn("${", json.dumps(fn["env"]))
        self.assertNotIn("OMNILAKE_BUCKET", d["functions"]["members-api"]["env"])
        self.assertEqual(d["functions"]["members-api"]["env"]["OMNILAKE_DEFAULT_COUNTRY"], "CN")
        self.assertEqual(d["functions"]["points-expiry"]["env"]["OMNILAKE_POINTS_EXPIRY_MONTHS"], "12")
        self.assertEqual(d["functions"]["ingest-feed"]["timeout"], 300)
        self.assertEqual(d["functions"]["points-expiry"]["timeout"], 900)
        esm = {m["binary"]: m for m in d["event_source_mappings"]}
        self.assertEqual(set(esm), {"normalize-orders", "ingest-feed", "unify-points"})
        self.assertEqual((esm["normalize-orders"]["queue"], esm["normalize-orders"]["batch_size"],
                          esm["normalize-orders"]["max_batching_window_s"]), ("RawEventsQueue", 50, 2))
        self.assertEqual((esm["ingest-feed"]["queue"], esm["ingest-feed"]["batch_size"]), ("FeedFilesQueue", 5))
        self.assertEqual((esm["unify-points"]["queue"], esm["unify-points"]["batch_size"]), ("CanonicalOrdersQueue", 10))
        self.assertTrue(all(m["report_batch_item_failures"] for m in esm.values()))
        webhook = {"method": "POST", "path": "/webhooks/{platform}/{shop_id}", "binary": "ingest-webhook",
                   "function_logical_id": "IngestWebhookFunction", "api": "WebhookApi"}
        members = [{"method": m, "path": p, "binary": "members-api", "function_logical_id": "MembersApiFunction",
                    "api": "MembersApi"} for m, p in (("GET", "/members"), ("GET", "/members/{member_id}"),
                                                       ("GET", "/members/{member_id}/ledger"),
                                                       ("POST", "/members/{member_id}/redemptions"))]
        key = lambda r: (r["api"], r["path"], r["method"])  # noqa: E731
        self.assertEqual(sorted(d["http_routes"], key=key), sorted([webhook, *members], key=key))
        self.assertTrue(d["queues"]["RawEventsQueue"]["url"].startswith(self.endpoint))
        self.assertTrue(d["queues"]["CanonicalOrdersQueue"]["url"].startswith(self.endpoint))

    def test_state_machine_definition_applied(self):
        sfn = boto3.client("stepfunctions", endpoint_url=self.endpoint)
        sm = self.doc["state_machines"]["NightlyRollupStateMachine"]
        self.assertEqual(self.doc["outputs"]["NightlyRollupStateMachineArn"], sm["arn"])
        desc = sfn.describe_state_machine(stateMachineArn=sm["arn"])
        definition = json.loads(desc["definition"])
        lam = boto3.client("lambda", endpoint_url=self.endpoint)
        arn = {b["logical_id"]: lam.get_function_configuration(FunctionName=b["function_name"])["FunctionArn"]
               for f in self.doc["functions"].values() for b in [f, *f.get("also_deployed_as", [])]}
        states = definition["States"]
        self.assertEqual(states["Plan"]["Resource"], arn["NightlyRollupFunction"])
        self.assertEqual(states["MapChunks"]["ItemProcessor"]["States"]["MapChunk"]["Resource"],
                         arn["NightlyRollupMapFunction"])
        self.assertNotIn("${", desc["definition"])
        self.assertEqual(desc["loggingConfiguration"]["level"], "ALL")
        self.assertTrue(desc["loggingConfiguration"]["destinations"][0]["cloudWatchLogsLogGroup"]["logGroupArn"])
        self.assertEqual(desc["tracingConfiguration"], {"enabled": True})
        # the events each task sends (JSONPaths unresolved), for invoking the binary by hand locally
        self.assertEqual(sm["tasks"], {
            "Plan": {"binary": "nightly-rollup", "parameters": {"mode": "plan", "date.$": "$.date"}},
            "Single": {"binary": "nightly-rollup", "parameters": {"date.$": "$.date"}},
            "MapChunk": {"binary": "nightly-rollup",
                         "parameters": {"mode": "map", "date.$": "$.date", "chunk.$": "$$.Map.Item.Value"}},
            "Reduce": {"binary": "nightly-rollup", "parameters": {"mode": "reduce", "date.$": "$.date"}}})

    def test_glue_catalog(self):
        glue = boto3.client("glue", endpoint_url=self.endpoint)
        db = self.doc["outputs"]["GlueDatabaseName"]
        self.assertEqual(db, "omnilake")
        tables = {t["Name"]: t for t in glue.get_tables(DatabaseName=db)["TableList"]}
        zones = {"order_lines": "curated"}
        self.assertEqual(set(tables), {"sales_daily", "inventory_daily", "shop_daily", "customers_daily",
                                       "orders_hourly", "service_demand_daily", "member_value", "order_lines"})
        bucket = self.doc["bucket"]
        for name, table in tables.items():
            with self.subTest(table=name):
                location = f"s3://{bucket}/{zones.get(name, 'rollups')}/{name}/"
                self.assertEqual(table["StorageDescriptor"]["Location"], location)
                self.assertEqual(self.doc["glue"][db][name], location)
                self.assertEqual(table["PartitionKeys"], [{"Name": "dt", "Type": "string"}])
                params = table["Parameters"]
                self.assertEqual(params["projection.enabled"], "true")
                self.assertEqual(params["storage.location.template"], location + "dt=${dt}/")
        self.assertEqual([(c["Name"], c["Type"]) for c in tables["orders_hourly"]["StorageDescriptor"]["Columns"]],
                         [("platform", "string"), ("shop_id", "string"), ("hour", "int"), ("orders", "bigint"),
                          ("net_sales", "decimal(18,2)")])

    def test_event_source_mappings_are_disabled_in_moto(self):
        lam = boto3.client("lambda", endpoint_url=self.endpoint)
        functions = {f["function_name"]: b for b, f in self.doc["functions"].items()}
        got = {}
        for m in lam.list_event_source_mappings()["EventSourceMappings"]:
            binary = functions.get(m["FunctionArn"].rsplit(":", 1)[-1])
            if binary:
                got[binary] = m["State"]
        self.assertEqual(set(got), {m["binary"] for m in self.doc["event_source_mappings"]})
        self.assertTrue(all(s in ("Disabled", "Disabling") for s in got.values()), got)

    def test_second_run_reuses_and_changed_template_needs_replace(self):
        again = Path(self.tmp.name) / "again.json"
        run = provision(self.endpoint, "omnilake-test", again)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("reused", run.stdout)
        first, second = self.doc, json.loads(again.read_text())
        self.assertEqual((first["bucket"], first["queues"]), (second["bucket"], second["queues"]))
        # the identity key survives a reused stack: a new key would orphan every stored identity
        self.assertEqual(first["secrets"], second["secrets"])
        self.assertIn("IdentityKeySecret: secret omnilake-test-IdentityKeySecret kept", run.stdout)
        self.assertEqual(first["glue"], second["glue"])
        self.assertIn("SalesDailyTable: Glue table omnilake.sales_daily updated", run.stdout)

        changed = Path(self.tmp.name) / "template.yaml"
        changed.write_text(TEMPLATE.read_text().replace("Default: 365", "Default: 400"))
        run = provision(self.endpoint, "omnilake-test", Path(self.tmp.name) / "changed.json", changed)
        self.assertEqual(run.returncode, 1)
        self.assertIn("--replace", run.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=1)
