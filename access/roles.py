"""The four roles, as groups with named permissions (created by migration 0002; kept here so
the README, the tests and the migration read one list). "Installation staff" is not a role but
a scope: members see every shop, as superusers do."""

OWNER, OPERATOR, VIEWER, METRICS, INSTALLATION_STAFF = "Owner", "Operator", "Viewer", "Metrics", "Installation staff"

# Models whose rows operators and viewers read in admin (view_<model>).
READABLE = {
    "kaspi_sync": ["shop", "order", "orderentry", "product"],
    "messaging": ["outboundmessage", "messageevent", "optout", "inboundmessage", "sessionpause", "lidoptout"],
    "seller": ["metricsperiod", "handoff", "answer", "handledreply", "knowledgeentry", "variant"],
}

READ = ["access.view_metrics", "access.view_status", "access.view_sales"]

ROLES = {
    OWNER: "*",  # every permission there is
    OPERATOR: READ + [
        "access.view_phones", "access.retry_message", "access.cancel_message", "access.review_message", "access.preview_message",
        "access.sync_shop", "access.resume_session", "access.connect_session", "access.import_optouts", "access.export_optouts",
        "access.trigger_delivered", "access.view_auditentry",
        "kaspi_sync.change_shop",  # voice, triggers, templates, policy; not the token
        "messaging.add_optout", "messaging.change_optout", "messaging.delete_optout",
        "seller.change_handoff",  # answer the customer, close the handoff
        "seller.add_knowledgeentry", "seller.change_knowledgeentry", "seller.delete_knowledgeentry",
    ],
    VIEWER: READ,
    METRICS: ["access.view_metrics"],
    INSTALLATION_STAFF: ["access.every_shop"],
}
VIEWS = {OPERATOR, VIEWER}  # these also read every model in READABLE


def permission_names(role: str) -> list[str]:
    names = list(ROLES[role])
    if role in VIEWS:
        names += [f"{app}.view_{model}" for app, models in READABLE.items() for model in models]
    return names


def sync_groups(apps):
    """Create or refresh the role groups (`apps`: the migration's or the live registry)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        if ROLES[role] == "*":
            group.permissions.set(Permission.objects.all())
            continue
        wanted = [name.split(".", 1) for name in permission_names(role)]
        # A permission a later migration adds is not there yet in an earlier one: that one adds it.
        found = [perm for app, codename in wanted
                 for perm in Permission.objects.filter(content_type__app_label=app, codename=codename)]
        group.permissions.set(found)
