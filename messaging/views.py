import json
import logging

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import webhook

log = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def waha_webhook(request):
    headers = request.headers
    try:
        webhook.check_signature(request.body, headers.get("X-Webhook-Hmac", ""), headers.get("X-Webhook-Hmac-Algorithm", ""))
    except webhook.Refused as exc:
        log.warning("webhook refused (%s): %s", exc.outcome, exc)
        webhook.count("", exc.outcome)
        return JsonResponse({"error": str(exc)}, status=401)
    try:
        event = json.loads(request.body)
        result = webhook.accept(event)
    except (ValueError, webhook.BadEvent) as exc:
        log.info("webhook refused: %s", exc)
        webhook.count("", "malformed")
        return JsonResponse({"error": str(exc)[:200]}, status=400)
    except webhook.TooEarly as exc:
        return JsonResponse({"error": str(exc)}, status=503)
    webhook.count(webhook.session_of(event), "accepted")
    return JsonResponse({"ok": True, "result": result})
