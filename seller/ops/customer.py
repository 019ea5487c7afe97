"""A customer's page in the admin: their orders and messages across shops, opt-out and cap."""

from django.contrib import admin
from django.template.response import TemplateResponse

from messaging.phones import normalize_phone

from . import story


def customer_page(request, phone: str):
    phone = normalize_phone(phone) or phone  # "87011234567" and "+77011234567" are one customer
    context = {**admin.site.each_context(request), "title": f"Customer {phone}", "customer": story.customer_story(phone)}
    return TemplateResponse(request, "admin/seller/customer.html", context)
