"""moto server as omnilake's tests and local stack run it.

Usage: moto_server.py [--host 127.0.0.1] [--port 0] [--until-stdin-closes]
Prints the bound port on the first line of stdout. With --until-stdin-closes it stops when its
stdin closes (a test binary's moto dies with the test process, even if that is killed).

Three adjustments to moto 5.x, all about DynamoDB, whose TransactWriteItems the points engine
uses for every change (member + ledger + award in one transaction):

1. DynamoDB requests are handled one at a time. moto checks a transaction's conditions and applies its
   writes without a lock, and rolls a failed transaction back by restoring a snapshot of the
   whole table, so two concurrent requests could interleave or a rollback could erase another
   request's committed write. Real DynamoDB serialises conflicting transactions; a global lock
   gives the emulator the same isolation (it is single-threaded under the GIL anyway).
2. A cancelled transaction is rolled back item by item. moto deep-copies every table a
   transaction touches to be able to roll back, so each transaction costs O(table size)
   (hundreds of ms per write at 50,000 items); instead the items it names are remembered and
   put back. Exact for Put, Delete and ConditionCheck (what omnilake uses); an Update mutates
   its item in place and would not be undone.
3. moto's instance trackers for DynamoDB models are emptied every 200 requests (they hold
   every item and snapshot ever made; see `_forget_dynamodb_instances`).
"""
import argparse
import copy
import sys
import threading
from collections import defaultdict

import moto.dynamodb.models as dynamodb_models
from moto.core.model_instances import model_data
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


class _NoTableCopy:
    """Stands in for the `copy` module inside moto.dynamodb.models: a table "backup" is the
    table itself, so moto's own rollback is a no-op; `_transact_write_items` below restores the
    touched items instead."""

    def deepcopy(self, obj, memo=None):
        if isinstance(obj, Table):
            return obj
        return copy.deepcopy(obj, memo)

    def __getattr__(self, name):
        return getattr(copy, name)


dynamodb_models.copy = _NoTableCopy()
_moto_transact_write_items = dynamodb_models.DynamoDBBackend.transact_write_items


def _transact_write_items(self, transact_items):
    """moto's transaction, rolled back item by item: the items the transaction names are
    remembered first and put back if it is cancelled. O(items in the transaction), not
    O(table)."""
    remembered = []
    for entry in transact_items:
        for op in entry.values():
            table = self.tables.get(op.get("TableName"))
            attrs = op.get("Item") or op.get("Key")
            if table is None or not attrs or table.hash_key_attr not in attrs:
                continue
            hash_value = DynamoType(attrs[table.hash_key_attr])
            range_value = None
            if table.range_key_attr is not None:
                if table.range_key_attr not in attrs:
                    continue
                range_value = DynamoType(attrs[table.range_key_attr])
            bucket = table.items.get(hash_value, {})
            old = bucket.get(range_value) if table.range_key_attr is not None else table.items.get(hash_value)
            remembered.append((table, hash_value, range_value, old))
    try:
        return _moto_transact_write_items(self, transact_items)
    except Exception:
        for table, hash_value, range_value, old in reversed(remembered):
            if table.range_key_attr is None:
                if old is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = old
            elif old is None:
                table.items.get(hash_value, {}).pop(range_value, None)
            else:
                table.items[hash_value][range_value] = old
        raise


dynamodb_models.DynamoDBBackend.transact_write_items = _transact_write_items


def _forget_dynamodb_instances():
    """moto keeps every model object it ever created (for its dashboard and reset), so each
    DynamoDB write (a new Item) and each transaction (a table snapshot) is retained forever:
    tens of GB after 40,000 transactions. We never reset DynamoDB through moto's API, so the
    DynamoDB models' trackers are emptied; the live tables keep their items."""
    for model in model_data.get("dynamodb", {}).values():
        model.instances_tracked.clear()


class _OneDynamoDBRequestAtATime:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.requests = 0

    def __call__(self, environ, start_response):
        # Only DynamoDB needs isolation; SQS long polls hold their request for up to 20 s and
        # must not block everything else.
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            # moto answers with complete bodies, so the response is built inside the lock.
            answer = list(self.app(environ, start_response))
            self.requests += 1
            if self.requests % 200 == 0:
                _forget_dynamodb_instances()
            return answer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--until-stdin-closes", action="store_true")
    args = parser.parse_args()

    app = _OneDynamoDBRequestAtATime(DomainDispatcherApplication(create_backend_app))
    server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    print(server.server_port, flush=True)
    if args.until_stdin_closes:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        sys.stdin.read()
        server.shutdown()
    else:
        server.serve_forever()


if __name__ == "__main__":
    main()
