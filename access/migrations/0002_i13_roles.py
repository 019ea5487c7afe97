"""The role groups: Owner, Operator, Viewer, Metrics, and the scope group Installation staff."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    from access import roles

    # Permissions are made after migrations finish; the groups need them now.
    for config in apps.get_app_configs():
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    roles.sync_groups(apps)


def remove_roles(apps, schema_editor):
    from access import roles

    apps.get_model("auth", "Group").objects.filter(name__in=list(roles.ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0001_i13_initial"),
        ("auth", "__latest__"),
        ("contenttypes", "__latest__"),
        ("authtoken", "__latest__"),
        ("django_celery_beat", "__latest__"),
        ("axes", "__latest__"),
        ("kaspi_sync", "0006_i9_shop_mode"),
        ("messaging", "0003_i9_approved_status"),
        ("seller", "0002_i9_reconcile_schedule"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
