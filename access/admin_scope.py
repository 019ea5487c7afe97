"""One mixin every project ModelAdmin uses, so the rules live in one place:

- rows, filters and foreign-key choices are limited to the user's shops (`shop_path`); another
  shop's object is a 404;
- actions marked with `permissions.requires` are hidden from users without the permission, and
  refused with a 403 when posted anyway;
- phone fields (`masked_fields`) show only their last two digits to users without
  `access.view_phones`.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404

from . import scope
from .permissions import check

VIEW_PHONES = "access.view_phones"
SHOP_MODEL = "kaspi_sync.shop"


def masked(value) -> str:
    value = str(value or "")
    return f"***{value[-2:]}" if value else ""


def may_run(user, action) -> bool:
    needed = getattr(action, "required_permission", None)  # set by permissions.requires
    return not needed or user.has_perm(needed)


class ScopedAdmin(admin.ModelAdmin):
    shop_path: str | None = "shop"  # ORM path from the model to its shop; None: installation-wide rows
    masked_fields: tuple[str, ...] = ()
    masked_columns: dict[str, str] = {}  # a column showing a phone -> its twin without it

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.masked_fields:
            display = admin.display(description=name.replace("_", " "))(lambda obj, name=name: masked(getattr(obj, name)))
            setattr(self, f"masked_{name}", display)

    # --- shops ------------------------------------------------------------
    def get_queryset(self, request):
        return scope.limit(super().get_queryset(request), request.user, self.shop_path)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model._meta.label_lower == SHOP_MODEL:
            kwargs["queryset"] = scope.limit(db_field.related_model._default_manager.all(), request.user, "pk")
            if not scope.sees_every_shop(request.user):
                kwargs["required"] = True  # a row of no shop would vanish from the merchant's own view
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if scope.sees_every_shop(request.user):
            return filters
        # A plain related filter lists every shop's name; this one only those in the user's rows.
        return [(item, admin.RelatedOnlyFieldListFilter) if item == "shop" else item for item in filters]

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django redirects with a message; for an object of another shop, say nothing but 404.
        raise Http404(f"No {opts.verbose_name} with id {object_id!r} here.")

    # --- actions ----------------------------------------------------------
    def get_actions(self, request):
        return {name: spec for name, spec in super().get_actions(request).items() if may_run(request.user, spec[0])}

    def changelist_view(self, request, extra_context=None):
        # An action the user may not run is not offered; posted anyway, it is a 403, not Django's
        # quiet "no action selected". (_get_base_actions: every action, before permissions.)
        name = request.POST.get("action") if request.method == "POST" else None
        if name and name not in self.get_actions(request):
            for action, action_name, description in self._get_base_actions():
                if action_name == name:
                    if getattr(action, "required_permission", None):
                        check(request.user, action.required_permission)
                    raise PermissionDenied(f"You do not have the permission to run “{description}” here.")
        return super().changelist_view(request, extra_context)

    # --- phones -----------------------------------------------------------
    def hides_phones(self, request) -> bool:
        return bool(self.masked_fields or self.masked_columns) and not request.user.has_perm(VIEW_PHONES)

    def mask(self, request, names):
        if not self.hides_phones(request):
            return names
        masked_names = [f"masked_{name}" if name in self.masked_fields else self.masked_columns.get(name, name)
                        for name in names]
        return list(dict.fromkeys(masked_names))  # once each

    def get_list_display(self, request):
        return self.mask(request, super().get_list_display(request))

    def get_fields(self, request, obj=None):
        return self.mask(request, super().get_fields(request, obj))

    def get_fieldsets(self, request, obj=None):
        return [(title, {**options, "fields": self.mask(request, options["fields"])})
                for title, options in super().get_fieldsets(request, obj)]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if self.hides_phones(request):
            fields = self.mask(request, fields) + [f"masked_{name}" for name in self.masked_fields]
        return fields
