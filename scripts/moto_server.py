"""moto server as omnilake's tests and local stack run it.

Usage: moto_server.py [--host 127.0.0.1] [--port 0] [--until-stdin-closes]
Prints the bound port on the first line of stdout. With --until-stdin-closes it stops when its
stdin closes (a test binary's moto dies with the test process, even if that is killed).

Two adjustments to moto 5.x, both about DynamoDB TransactWriteItems, which the points engine
uses for every change (member + ledger + award in one transaction):

1. Requests are handled one at a time. moto checks a transaction's conditions and applies its
   writes without a lock, and rolls a failed transaction back by restoring a snapshot of the
   whole table, so two concurrent requests could interleave or a rollback could erase another
   request's committed write. Real DynamoDB serialises conflicting transactions; a global lock
   gives the emulator the same isolation (it is single-threaded under the GIL anyway).
2. The rollback snapshot copies the table's item index instead of deep-copying every item.
   moto deep-copies each table a transaction touches, so a transaction costs O(table size)
   (seconds per write at 50,000 items). Transactional writes replace whole items (Put), and the
   snapshot keeps the old item objects, so the rollback restores exactly what it did before.
"""
import argparse
import copy
import sys
import threading
from collections import defaultdict

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


class _SnapshotCopy:
    """Stands in for the `copy` module inside moto.dynamodb.models."""

    def deepcopy(self, obj, memo=None):
        if isinstance(obj, Table):
            snapshot = copy.copy(obj)
            snapshot.items = defaultdict(
                dict, {h: dict(v) if isinstance(v, dict) else v for h, v in obj.items.items()}
            )
            return snapshot
        return copy.deepcopy(obj, memo)

    def __getattr__(self, name):
        return getattr(copy, name)


dynamodb_models.copy = _SnapshotCopy()


class _OneRequestAtATime:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            # moto answers with complete bodies, so the response is built inside the lock.
            return list(self.app(environ, start_response))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--until-stdin-closes", action="store_true")
    args = parser.parse_args()

    app = _OneRequestAtATime(DomainDispatcherApplication(create_backend_app))
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
