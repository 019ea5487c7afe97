"""Which variant of a trigger a customer gets: by weight, the same one every time.

The choice is a hash of the shop, the trigger and the phone, so a customer never sees two
variants of one trigger and a restart changes nothing; changing the weights moves some
customers to another variant from then on. No variant is ever declared the winner here: the
metrics give each one's figures with their intervals (`seller.ops.sales`), and people decide.
"""

import hashlib

from .fallback import template_errors
from .models import Variant


# Asked for every message written: as SQL of its own it costs a third of what the ORM spent
# building the same query each time.
ACTIVE = (f'SELECT * FROM {Variant._meta.db_table} WHERE shop_id = %s AND "trigger" = %s AND is_active AND weight > 0 '
          "ORDER BY name")


def choose(shop, trigger: str, phone: str) -> Variant | None:
    """The active variant for this customer, or None when the shop runs none for the trigger."""
    variants = list(Variant.objects.raw(ACTIVE, [shop.pk, trigger]))
    if not variants:
        return None
    digest = hashlib.sha256(f"variant:{shop.pk}:{trigger}:{phone}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") % sum(v.weight for v in variants)
    for variant in variants:
        if point < variant.weight:
            return variant
        point -= variant.weight
    return variants[-1]


def fallback_template(variant: Variant | None, trigger: str) -> str:
    """The variant's own template when it has a usable one, else "" (the shop's is used)."""
    own = (variant.fallback_template if variant else "").strip()
    return own if own and not template_errors(own, trigger) else ""
