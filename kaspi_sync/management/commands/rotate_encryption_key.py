"""`rotate_encryption_key`: re-encrypts every Kaspi token with the first key of FIELD_ENCRYPTION_KEY.

The change, without downtime: 1. set FIELD_ENCRYPTION_KEY=NEW,OLD everywhere and restart (both
keys decrypt, the new one encrypts); 2. run this command; 3. set FIELD_ENCRYPTION_KEY=NEW.
"""

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from access import audit
from kaspi_sync.models import Shop


class Command(BaseCommand):
    help = "Re-encrypts every Kaspi token with the first key of FIELD_ENCRYPTION_KEY (NEW,OLD during the change)."

    def handle(self, *args, **options):
        keys = settings.FIELD_ENCRYPTION_KEY
        keys = list(keys) if isinstance(keys, (list, tuple)) else [keys]
        new = Fernet(keys[0])
        table, column = Shop._meta.db_table, Shop._meta.get_field("kaspi_token").column
        with transaction.atomic():
            shops = list(Shop.objects.select_for_update().order_by("pk"))
            unreadable = [shop.pk for shop in shops if not self.readable(shop.pk, table, column, keys)]
            if unreadable:
                raise CommandError(f"shops {unreadable}: their token opens with none of the keys in "
                                   "FIELD_ENCRYPTION_KEY; add the key they were written with (NEW,OLD) and run again")
            for shop in shops:
                shop.save(update_fields=["kaspi_token"])  # the field encrypts with the first key
            for shop in shops:
                new.decrypt(self.stored(shop.pk, table, column).encode())  # proof: the new key alone opens it
            audit.record(None, audit.Action.KEYS_ROTATED, actor="rotate_encryption_key command",
                         detail=f"{len(shops)} token(s) re-encrypted")
        self.stdout.write(f"{len(shops)} token(s) re-encrypted with the first key; "
                          "FIELD_ENCRYPTION_KEY may now hold that key alone.")

    @staticmethod
    def stored(pk, table, column) -> str:
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE id = %s', [pk])
            return cursor.fetchone()[0]

    def readable(self, pk, table, column, keys) -> bool:
        # The field quietly returns the ciphertext when no key fits: check the raw column instead.
        stored = self.stored(pk, table, column).encode()
        for key in keys:
            try:
                Fernet(key).decrypt(stored)
                return True
            except InvalidToken:
                continue
        return False
