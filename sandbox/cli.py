"""Options and the serve loop shared by `manage.py sandbox` and `python -m sandbox`."""

import time

from .server import start


def add_arguments(parser):
    parser.add_argument("--host", default="127.0.0.1", help="loopback only")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--webhook-url", help="where WAHA events go, e.g. http://127.0.0.1:8000/webhooks/waha")
    parser.add_argument("--webhook-hmac-key", default="", help="signs webhooks (X-Webhook-Hmac)")
    parser.add_argument("--waha-api-key", default="sandbox-waha-key")
    parser.add_argument("--ack-delay", type=float, default=1.0,
                        help="seconds before each delivered/read ack webhook; 0 = none")
    parser.add_argument("--demo", action="store_true", help="new orders and progress every tick")
    parser.add_argument("--tick-seconds", type=float, default=5.0)
    parser.add_argument("--repeat-rate", type=float, default=0.0,
                        help="--demo: each tick, the chance that a past customer orders again")
    parser.add_argument("--true-lift", type=float, default=0.0,
                        help="--demo: added to that chance once a WhatsApp message reached the customer")
    parser.add_argument("--shop-token", action="append", default=[],
                        help="register a shop with generated orders (repeatable)")
    parser.add_argument("--orders", type=int, default=200, help="orders per --shop-token")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-requests", action="store_true")
    parser.add_argument("--waha-latency-ms", type=float, default=0, help="added to every WAHA call (benchmarks)")
    parser.add_argument("--llm-latency-ms", type=float, default=0, help="added to every model answer (benchmarks)")


def serve(options, stdout):
    """Serve until Ctrl-C. Raises ValueError for a host that is not loopback, OSError for a busy port."""
    server = start(host=options["host"], port=options["port"], webhook_url=options["webhook_url"],
                   webhook_hmac_key=options["webhook_hmac_key"],
                   waha_api_key=options["waha_api_key"], demo=options["demo"],
                   tick_seconds=options["tick_seconds"], ack_delay=options["ack_delay"],
                   log_requests=options["log_requests"], repeat_rate=options["repeat_rate"],
                   true_lift=options["true_lift"], waha_latency=options["waha_latency_ms"] / 1000,
                   llm_latency=options["llm_latency_ms"] / 1000)
    for token in options["shop_token"]:
        server.state.register_shop(token, orders=options["orders"], seed=options["seed"])
    lines = [f"KASPI_API_URL={server.kaspi_url}", f"WAHA_URL={server.waha_url}",
             f"WAHA_API_KEY={options['waha_api_key']}", f"OPENAI_BASE_URL={server.openai_url}",
             f"sent messages: {server.url}/_sandbox/waha/sent.html",
             f"shops: {', '.join(options['shop_token']) or 'none (POST /_sandbox/kaspi/shops)'}",
             "Ctrl-C to stop."]
    stdout.write("\n".join(lines) + "\n")
    stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
