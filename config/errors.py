from django.http import JsonResponse
from django.views.defaults import page_not_found


def not_found(request, exception=None):
    """JSON for API clients, in DRF's shape; the admin keeps its HTML page."""
    if request.path.startswith("/admin/"):
        return page_not_found(request, exception)
    return JsonResponse({"detail": "Not found."}, status=404)
