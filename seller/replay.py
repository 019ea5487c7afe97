"""A dry run: the last N days' orders through today's policy, prompts and variants, on a clock of
its own, changing nothing and sending nothing. What a merchant asks before turning the seller on:
how many messages, when, what stops the others, what they say, and what the model would cost.

The policy is `seller.policy.decide` itself (opt-outs, switched-off triggers, delays, quiet hours,
expiry, holdout); the cap, cooldown and daily cap, which live in Redis for real, are counted here
in memory with the same rules as `messaging.limits`, so Redis is not touched.
"""

import heapq
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Avg
from django.utils import timezone

from kaspi_sync.models import Order, Shop
from messaging.limits import Outcome, local_day
from messaging.models import OutboundMessage, Trigger
from messaging.phones import normalize_phone

from . import fallback, policy, prompts, variants
from .triggers import spec

MAX_STEPS = 20  # defers in a row for one message before the replay gives up on it
CHARS_PER_TOKEN = 3.0  # Cyrillic JSON and prompt text, when the shop has no measured tokens yet
COMPLETION_TOKENS = 120  # a short WhatsApp message, when nothing was measured


@dataclass
class Limits:
    """`messaging.limits` in memory: reservations per customer (session, phone) and per shop day."""

    shop: Shop
    customers: dict = field(default_factory=lambda: defaultdict(list))
    days: Counter = field(default_factory=Counter)

    def reserve(self, phone: str, now: datetime) -> Outcome:
        shop = self.shop
        window = timedelta(days=shop.setting("cap_window_days"))
        taken = [at for at in self.customers[phone] if at > now - window]
        if len(taken) >= shop.setting("max_messages"):
            return Outcome("cap")
        cooldown = timedelta(hours=shop.setting("cooldown_hours"))
        if taken and cooldown and now - max(taken) < cooldown:
            return Outcome("cooldown", max(taken) + cooldown)
        day = local_day(shop, now)
        if self.days[day] >= shop.setting("max_daily_messages"):
            return Outcome("daily", day + timedelta(days=1))
        self.customers[phone].append(now)
        self.days[day] += 1
        return Outcome("ok")


def events(shop: Shop, since: datetime, until: datetime) -> list[OutboundMessage]:
    """Unsaved outbox rows for each trigger the orders of the period fired, in time order."""
    orders = (Order.objects.filter(shop=shop, created_at_kaspi__gte=since, created_at_kaspi__lte=until)
              .select_related("shop").order_by("created_at_kaspi"))
    rows = []
    for order in orders:
        for trigger in Trigger.values:
            fired = spec(trigger).event == "created_at_kaspi" or getattr(order, spec(trigger).event)
            if fired and shop.trigger_enabled(trigger):
                at = getattr(order, spec(trigger).event) or order.created_at_kaspi
                rows.append(OutboundMessage(shop=shop, order=order, trigger=trigger, created_at=at,
                                            phone=normalize_phone(order.customer_phone) or order.customer_phone))
    return sorted(rows, key=policy.due_time)


def step(message: OutboundMessage, now: datetime, limits: Limits) -> policy.Decision:
    """What the pipeline would decide for this row at `now`: the policy, then the limits."""
    decision = policy.decide(message, now)
    if decision.action == "allow":
        decision = policy.after_limits(message, limits.reserve(message.phone, now))
    return decision


def token_prices(shop: Shop, samples: list[dict]) -> tuple[float, float]:
    """Tokens per message: the shop's measured average when it has AI rows, else an estimate."""
    measured = OutboundMessage.objects.filter(shop=shop, source=OutboundMessage.Source.AI,
                                              prompt_tokens__isnull=False).aggregate(
        prompt=Avg("prompt_tokens"), completion=Avg("completion_tokens"))
    if measured["prompt"]:
        return float(measured["prompt"]), float(measured["completion"] or COMPLETION_TOKENS)
    lengths = [sample["prompt_chars"] for sample in samples] or [1500]
    return sum(lengths) / len(lengths) / CHARS_PER_TOKEN, float(COMPLETION_TOKENS)


def sample(message: OutboundMessage, when: datetime) -> dict:
    """The prompt as today's code builds it and the text the fallback would give; no model call."""
    variant = variants.choose(message.shop, message.trigger, message.phone)
    data = prompts.order_data(message)
    if variant and not variant.suggest_product:
        data["recommendations"] = []
    voice = (variant.voice.strip() if variant else "") or message.shop.voice
    chat = prompts.chat_messages(data, voice, variant.goal.strip() if variant else "")
    template = variants.fallback_template(variant, message.trigger) or fallback.template_for(message.shop, message.trigger)
    return {"order": message.order.code, "trigger": message.trigger, "variant": variant.name if variant else "",
            "at": when, "fallback_text": fallback.render(template, data),
            "prompt_chars": sum(len(part["content"]) for part in chat)}


def replay(shop: Shop, days: int, samples: int = 3, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    since = now - timedelta(days=days)
    limits, deferred = Limits(shop), Counter()
    outcomes, blocked, per_variant, per_day, per_hour = Counter(), Counter(), Counter(), Counter(), Counter()
    texts = []
    zone = ZoneInfo(shop.tz_name)
    # Rows are decided in time order, a deferred one again at its new time, as beat would.
    queue = [(policy.due_time(message), n, 0, message) for n, message in enumerate(events(shop, since, now))]
    heapq.heapify(queue)
    while queue:
        when, n, steps, message = heapq.heappop(queue)
        decision = step(message, when, limits)
        if decision.action == "defer" and steps < MAX_STEPS:
            deferred[decision.reason] += 1
            heapq.heappush(queue, (decision.not_before, n, steps + 1, message))
            continue
        if decision.action != "allow":
            outcome = "cancelled" if decision.action == "cancel" else "blocked"
            outcomes[outcome] += 1
            blocked[f"cancelled:{decision.reason}" if outcome == "cancelled" else decision.reason or "too_many_defers"] += 1
            continue
        outcomes["sent"] += 1
        variant = variants.choose(shop, message.trigger, message.phone)
        per_variant[(message.trigger, variant.name if variant else "")] += 1
        local = when.astimezone(zone)
        per_day[local.date()] += 1
        per_hour[local.hour] += 1
        if len(texts) < samples:
            texts.append(sample(message, when))
    prompt_tokens, completion_tokens = token_prices(shop, texts)
    sent = outcomes["sent"]
    return {
        "shop": shop.pk, "days": days, "from": since, "to": now,
        "triggers": sum(outcomes.values()), "messages": sent,
        "blocked": dict(blocked.most_common()), "deferred": dict(deferred.most_common()),
        "by_variant": {f"{trigger} / {name or 'default'}": n for (trigger, name), n in sorted(per_variant.items())},
        "by_day": {day.isoformat(): per_day[day] for day in sorted(per_day)},
        "by_hour": {hour: per_hour[hour] for hour in sorted(per_hour)},
        "model_cost_usd": round(sent * (prompt_tokens * settings.OPENAI_INPUT_PRICE_PER_1M
                                        + completion_tokens * settings.OPENAI_OUTPUT_PRICE_PER_1M) / 1e6, 4),
        "tokens_per_message": {"prompt": round(prompt_tokens), "completion": round(completion_tokens)},
        "samples": texts,
    }
