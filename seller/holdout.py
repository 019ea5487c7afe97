"""Who is held out: a fixed share of each shop's customers gets no message at all, so what the
messages cause can be measured against them (`seller.lift`).

The choice is a hash of the shop and the phone: it never flips between runs, workers or
restarts, needs no table, and is independent of anything about the customer.
"""

import hashlib

BUCKETS = 10_000


def bucket(shop_id: int, phone: str) -> int:
    digest = hashlib.sha256(f"holdout:{shop_id}:{phone}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def held_out(shop, phone: str) -> bool:
    percent = shop.setting("holdout_percent")
    return bool(percent) and phone != "" and bucket(shop.pk, phone) < percent / 100 * BUCKETS
