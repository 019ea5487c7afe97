"""Start-up checks: a configuration that would refuse every WAHA webhook, silently, stops the start."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def webhook_hmac_key(app_configs=None, **kwargs):
    if settings.DEBUG or settings.WAHA_WEBHOOK_HMAC_KEY:
        return []
    return [Error(
        "WAHA_WEBHOOK_HMAC_KEY is empty: every WAHA webhook (replies, opt-outs, delivery receipts) would be "
        "refused with 401.",
        hint="Set WAHA_WEBHOOK_HMAC_KEY to the key of the session's webhook (`hmac.key`), or DEBUG=1 in development.",
        id="messaging.E001",
    )]
