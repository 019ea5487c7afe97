from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from . import audit
from .admin_scope import ScopedAdmin
from .models import AuditEntry, ShopAccess


@admin.register(AuditEntry)
class AuditEntryAdmin(ScopedAdmin):
    """Read only for everyone, superusers included: the trail is never edited."""

    list_display = ["at", "actor", "action", "shop", "target", "detail"]
    list_filter = ["action", "shop", "actor"]
    search_fields = ["actor", "target", "detail"]
    list_select_related = ["shop"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ShopAccessInline(admin.TabularInline):
    model = ShopAccess
    extra = 0
    fields = ["shop", "granted_at"]
    readonly_fields = ["granted_at"]


@admin.register(ShopAccess)
class ShopAccessAdmin(ScopedAdmin):
    list_display = ["user", "shop", "granted_at"]
    list_filter = ["shop"]
    search_fields = ["user__username"]
    list_select_related = ["user", "shop"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record(request.user, audit.Action.SHOP_ACCESS, shop_id=obj.shop_id, target=obj.user.get_username(),
                     detail="granted in admin")

    def delete_model(self, request, obj):
        audit.record(request.user, audit.Action.SHOP_ACCESS, shop_id=obj.shop_id, target=obj.user.get_username(),
                     detail="removed in admin")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for access in queryset.select_related("user"):
            self.delete_model(request, access)


# The user page shows which shops the user is tied to.
User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class UserWithShopsAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, ShopAccessInline]

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is not ShopAccess:
            return
        for accesses, detail in ((formset.new_objects, "granted"), (formset.deleted_objects, "removed")):
            for access in accesses:
                audit.record(request.user, audit.Action.SHOP_ACCESS, shop_id=access.shop_id,
                             target=form.instance.get_username(), detail=f"{detail} on the user's page")
