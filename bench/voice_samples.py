"""Texts as the project writes them: the corpora's orders (bench/corpora/build.py) through the real
prompts, the sandbox's OpenAI stand-in (not a real model: its texts are built from the data, plain
or "realistic" with an emoji, the voice's fact and a signature) and the real checks.

    python bench/voice_samples.py     writes bench/results/voice_samples.md (12 per trigger and language)
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench" / "corpora")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "Zq3mJ2l3oWcD6bq0y1o0e9V8rY3bHq2hYw5x9m8kQ2c=")
RESULTS = ROOT / "bench" / "results" / "voice_samples.md"


def main():
    import django

    django.setup()
    import openai
    import requests

    import build
    from sandbox.server import start
    from seller import generation, prompts

    server = start(waha_api_key="bench", webhook_hmac_key="bench")
    client = openai.OpenAI(api_key="sk-sandbox", base_url=f"{server.url}/openai/v1")
    lines = ["# Stand-in texts (the sandbox's model stand-in, not a real model), through the real prompts and checks", ""]
    try:
        for language in ("ru", "kk"):
            orders = [i for i, order in enumerate(build.ORDERS) if build.SHOPS[order[0]][1] == language][:12]
            for trigger in ("POST_PURCHASE", "ORDER_DELIVERED"):
                lines += [f"## {trigger} {language}", ""]
                for n, index in enumerate(orders):
                    data, voice = build.data_block(index, trigger)
                    mode = "realistic" if n % 2 else "ok"
                    requests.post(f"{server.url}/_sandbox/openai/mode", json={"mode": mode}, timeout=10)
                    reply = client.chat.completions.create(model="gpt-4o-mini", messages=prompts.chat_messages(data, voice))
                    text, found = generation.checked(reply.choices[0].message.content, data, voice)
                    verdict = "sent as written" if not found else "refused: " + ",".join(found)
                    lines.append(f"- ({mode}, {verdict}) " + text.replace("\n", " / "))
                lines.append("")
    finally:
        server.stop()
    RESULTS.write_text("\n".join(lines))
    print(RESULTS)


if __name__ == "__main__":
    main()
