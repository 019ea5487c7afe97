"""Named permissions, checked the same way by the admin and the API: a denied request is a 403
that says which permission it needs, and changes nothing."""

from functools import wraps

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from rest_framework import permissions

from . import scope


def describe(perm: str) -> str:
    app_label, codename = perm.split(".", 1)
    name = Permission.objects.filter(content_type__app_label=app_label, codename=codename).values_list("name", flat=True).first()
    return f"'{perm}' ({name})" if name else f"'{perm}'"


def denial(perm: str) -> str:
    return f"You do not have the permission {describe(perm)}; ask an owner of this installation."


def check(user, perm: str, every_shop: bool = False):
    """Raise PermissionDenied (403) unless the user holds `perm` (and sees every shop, when the
    thing concerns the whole installation)."""
    if not user.has_perm(perm):
        raise PermissionDenied(denial(perm))
    if every_shop and not scope.sees_every_shop(user):
        raise PermissionDenied("This concerns every shop of the installation: only its own staff may do it.")


def requires(perm: str):
    """For admin actions: checked when run; the admin hides the action from those without it."""
    def decorate(action):
        @wraps(action)
        def checked(modeladmin, request, queryset):
            check(request.user, perm)
            return action(modeladmin, request, queryset)
        checked.required_permission = perm
        return checked
    return decorate


class Named(permissions.BasePermission):
    """DRF: staff, holding `perm` (and seeing every shop when `every_shop`)."""

    perm = ""
    every_shop = False

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated and user.is_staff):
            self.message = "Only staff users with a token may use the API."
            return False
        try:
            check(user, self.perm, self.every_shop)
        except PermissionDenied as denied:
            self.message = str(denied)
            return False
        return True


def named(perm: str, every_shop: bool = False) -> type[Named]:
    return type(f"Needs_{perm.replace('.', '_')}", (Named,), {"perm": perm, "every_shop": every_shop})
