"""Starts moto server on a free 127.0.0.1 port for one test binary, prints the port, and stops
when stdin closes, i.e. when the test process exits, even if it is killed."""
import sys

from moto.server import ThreadedMotoServer

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server._server.server_port, flush=True)  # werkzeug server bound to the chosen port
sys.stdin.read()
server.stop()
