"""`grant_shop --user NAME --shop ID --role operator|viewer`: ties a user to a shop."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from access import audit, roles
from access.models import ShopAccess

ROLES = {"operator": roles.OPERATOR, "viewer": roles.VIEWER}


class Command(BaseCommand):
    help = ("Ties a user to a shop: from then on the user sees only the shops given this way. The role "
            "(operator or viewer) is the user's, for all their shops.")

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="username (must exist)")
        parser.add_argument("--shop", required=True, type=int, help="the shop's id")
        parser.add_argument("--role", required=True, choices=sorted(ROLES))

    def handle(self, *args, user, shop, role, **options):
        User = get_user_model()
        Shop = ShopAccess._meta.get_field("shop").related_model
        person = User.objects.filter(**{User.USERNAME_FIELD: user}).first()
        if person is None:
            raise CommandError(f"no user {user!r}: create it first (python manage.py createsuperuser is not it: "
                               "use the admin's Users page)")
        if person.is_superuser:
            raise CommandError(f"{user!r} is a superuser and sees every shop anyway; a merchant must not be one")
        if not Shop.objects.filter(pk=shop).exists():
            raise CommandError(f"no shop {shop}")
        with transaction.atomic():
            _, created = ShopAccess.objects.get_or_create(user=person, shop_id=shop)
            person.groups.remove(*Group.objects.filter(name__in=list(ROLES.values())))
            person.groups.add(Group.objects.get(name=ROLES[role]))
            if not person.is_staff:
                person.is_staff = True  # may log in to the admin
                person.save(update_fields=["is_staff"])
            audit.record(None, audit.Action.SHOP_ACCESS, shop_id=shop, target=user, actor="grant_shop command",
                         detail=f"role {role}")
        shops = sorted(ShopAccess.objects.filter(user=person).values_list("shop_id", flat=True))
        self.stdout.write(f"{user} is {role} of shop {shop}{'' if created else ' (already tied to it)'}; "
                          f"sees shops: {', '.join(map(str, shops))}")
