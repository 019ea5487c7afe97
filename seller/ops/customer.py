"""A customer's page in the admin: their orders and messages across shops, opt-out and cap."""

from django.contrib import admin
from django.template.response import TemplateResponse

from access import scope
from access.permissions import check
from messaging.phones import normalize_phone

from . import story


def customer_page(request, phone: str):
    check(request.user, "access.view_phones")  # the page is the phone in full
    phone = normalize_phone(phone) or phone  # "87011234567" and "+77011234567" are one customer
    customer = story.customer_story(phone, shop_ids=scope.shop_ids(request.user))
    context = {**admin.site.each_context(request), "title": f"Customer {phone}", "customer": customer}
    return TemplateResponse(request, "admin/seller/customer.html", context)
