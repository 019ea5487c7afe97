"""History in the admin: rows the system writes (the outbox, its events, replies, orders) can be
read, never added, edited or deleted by hand; operators change them through actions."""


class HistoryAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
