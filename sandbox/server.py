"""One threaded WSGI server for the three stand-ins and the control API; no Django here, so
tests can run it in a thread and `manage.py sandbox` can serve it."""

import io
import json
import random
import socket
import threading

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, RequestRedirect
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from . import control, kaspi, llm, waha
from .state import State

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def make_app(state):
    # Copies of the rules: a rule binds to one map, and tests start several servers.
    urls = Map([rule.empty() for rule in kaspi.RULES + waha.RULES + llm.RULES + control.RULES])

    @Request.application
    def app(request):
        try:
            view, values = urls.bind_to_environ(request.environ).match()
        except RequestRedirect as redirect:
            return redirect
        except HTTPException as exc:
            return Response(json.dumps({"error": exc.name}), exc.code, content_type="application/json")
        return view(state, request, **values)

    return app


class KeepAliveHandler(WSGIRequestHandler):
    """Keeps a client's connection open between requests, as WAHA and OpenAI's servers do (Node
    closes an idle one after 5 s): werkzeug's server closes it after every answer, which made each
    call of the app's clients connect anew, and the sandbox start a thread per call. The request's
    body is read whole before the app runs, so a body the app ignores never reads as the next
    request; a chunked one still closes the connection after its answer."""

    protocol_version = "HTTP/1.1"
    timeout = 5  # seconds an idle connection stays open (and a read may stall)

    def setup(self):
        super().setup()
        # As Node's servers: an answer's pieces leave at once, not after the client's delayed ACK
        # (40 ms a request on a kept-alive connection).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self):
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)
        super().finish()

    def run_wsgi(self):
        chunked = self.headers.get("Transfer-Encoding", "").lower().strip() == "chunked"
        if chunked or self.headers.get("Expect"):
            self.close_connection = True  # the body's end is known only to the app: as werkzeug does
            return super().run_wsgi()
        # The app reads the body from memory; werkzeug's clean-up after the answer (it discards
        # unread input, for a connection it closes) then finds nothing, not the next request.
        connection_file, self.rfile = self.rfile, io.BytesIO(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        try:
            return super().run_wsgi()
        finally:
            self.rfile = connection_file

    def send_header(self, keyword, value):
        if keyword.lower() == "connection" and value.lower() == "close" and not self.close_connection:
            return  # werkzeug's: this connection stays open
        super().send_header(keyword, value)

    def log_error(self, format, *args):
        if not format.startswith("Request timed out"):  # an idle connection closed: as planned
            super().log_error(format, *args)


class QuietHandler(KeepAliveHandler):
    def log_request(self, code="-", size="-"):
        pass


class SandboxServer:
    def __init__(self, state, httpd):
        self.state = state
        self._httpd = httpd
        host, port = httpd.server_address[:2]
        self.url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
        # A short poll interval so stop() returns quickly.
        self._thread = threading.Thread(target=httpd.serve_forever, args=(0.1,), daemon=True,
                                        name="sandbox-http")
        self._thread.start()

    @property
    def kaspi_url(self):
        return f"{self.url}/kaspi/shop/api/v2"

    @property
    def waha_url(self):
        return f"{self.url}/waha"

    @property
    def openai_url(self):
        return f"{self.url}/openai/v1"

    def stop(self):
        self.state.stopping.set()  # wakes slow replies (timeout mode, delayed sends) and the ticker
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._httpd.connections_lock:  # kept-alive connections: a stopped server answers no more
            for connection in list(self._httpd.open_connections):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def start(host="127.0.0.1", port=0, webhook_url=None, webhook_hmac_key="",
          waha_api_key="sandbox-waha-key", demo=False, tick_seconds=5.0, ack_delay=1.0,
          log_requests=False, talk_back=None, repeat_rate=0.0, true_lift=0.0, waha_latency=0.0, llm_latency=0.0):
    """Serve in a daemon thread; port 0 picks a free port (see `.url`)."""
    if host not in LOOPBACK:
        raise ValueError(f"the sandbox binds loopback only, not {host!r}")
    # talk_back: the share of customers who write back to our first message (the demo: half).
    talk_back = (0.5 if demo else 0.0) if talk_back is None else talk_back
    state = State(waha_api_key=waha_api_key, webhook_url=webhook_url,
                  webhook_hmac_key=webhook_hmac_key, ack_delay=ack_delay, talk_back=talk_back,
                  repeat_rate=repeat_rate, true_lift=true_lift, waha_latency=waha_latency, llm_latency=llm_latency)
    httpd = make_server(host, port, make_app(state), threaded=True,
                        request_handler=KeepAliveHandler if log_requests else QuietHandler)
    httpd.open_connections, httpd.connections_lock = set(), threading.Lock()
    server = SandboxServer(state, httpd)
    if demo:
        threading.Thread(target=_tick, args=(state, tick_seconds), daemon=True,
                         name="sandbox-demo").start()
    return server


def _tick(state, seconds):
    """The demo's life: now and then a new order per shop, and open orders move on."""
    rng = random.Random("demo")
    while not state.stopping.wait(seconds):
        for token in list(state.shops):
            if rng.random() < 0.35:
                try:
                    state.create_order(token)
                except KeyError:  # the shop went away in a reset meanwhile
                    pass
        state.advance(share=0.3)
        state.buy_again(rng)
