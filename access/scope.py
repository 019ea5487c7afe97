"""Which shops a user sees. Staff of the installation (superusers, and users with
`access.every_shop` who are tied to no shop) see every shop; a user tied to shops sees those;
anyone else sees none. Being tied to a shop always narrows: it never widens."""

from django.conf import settings

from .models import ShopAccess

EVERY_SHOP = "access.every_shop"


def shop_ids(user) -> list[int] | None:
    """None: every shop. Otherwise the ids this user may see (cached on the user object)."""
    if not getattr(user, "is_authenticated", False):
        return []
    if not hasattr(user, "_shop_ids"):
        granted = sorted(ShopAccess.objects.filter(user=user).values_list("shop_id", flat=True))
        if user.is_superuser:
            user._shop_ids = None
        elif granted:
            user._shop_ids = granted
        else:
            user._shop_ids = None if user.has_perm(EVERY_SHOP) else []
    return user._shop_ids


def sees_every_shop(user) -> bool:
    return shop_ids(user) is None


def may_see_shop(user, shop_id) -> bool:
    ids = shop_ids(user)
    return ids is None or shop_id in ids


def limit(queryset, user, path: str | None):
    """Only the rows of the user's shops; `path` leads from the model to its shop's id
    ("shop", "order__shop", "pk" for shops). Rows tied to no shop (path None) are for
    staff of the installation only."""
    ids = shop_ids(user)
    if ids is None:
        return queryset
    if path is None:
        return queryset.none()
    return queryset.filter(**{f"{path}__in": ids})


def session_names(user) -> list[str] | None:
    """The WAHA sessions of the user's shops (None: every session)."""
    ids = shop_ids(user)
    if ids is None:
        return None
    names = ShopAccess.objects.filter(user=user).values_list("shop__waha_session", flat=True)
    return sorted({name or settings.WAHA_SESSION for name in names})
