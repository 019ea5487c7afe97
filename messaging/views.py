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
    if not webhook.signature_ok(request.body, headers.get("X-Webhook-Hmac", ""), headers.get("X-Webhook-Hmac-Algorithm", "")):
        return JsonResponse({"error": "bad or missing signature"}, status=401)
    try:
        result = webhook.accept(json.loads(request.body))
    except (ValueError, webhook.BadEvent) as exc:
        log.info("webhook refused: %s", exc)
        return JsonResponse({"error": str(exc)[:200]}, status=400)
    return JsonResponse({"ok": True, "result": result})
