"""Each Kaspi product's real code, asked of Kaspi once per product, ever.

An order entry names its product only by an opaque id (`relationships.product.data.id`);
the code that goes into kaspi.kz/shop/p/-<code>/ and into the review link comes from
`GET /orderentries/{id}/product`. The answers live in `Product.kaspi_id` and `Product.code`.
"""

from .client import KaspiClient, KaspiEntry, KaspiProduct
from .models import Product, Shop


class Catalogue:
    def __init__(self, shop: Shop, client: KaspiClient):
        self.client = client
        self.by_ref: dict[str, KaspiProduct] = {}
        self.by_sku: dict[str, KaspiProduct] = {}
        for row in Product.objects.filter(shop=shop).exclude(kaspi_id=""):
            if row.code != row.kaspi_id:  # equal: an opaque id an older sync stored as the code
                product = KaspiProduct(row.kaspi_id, row.code, row.name, row.category_code, row.category_title)
                self.remember(product, row.kaspi_id, row.sku)

    def remember(self, product: KaspiProduct, ref: str, sku: str):
        self.by_ref[product.kaspi_id] = product
        if ref:
            self.by_ref[ref] = product
        if sku:
            self.by_sku[sku] = product

    def product_for(self, entry: KaspiEntry) -> KaspiProduct | None:
        """Kaspi's product of an entry; None if Kaspi has none. Without the opaque id (Kaspi
        may leave it out), the merchant's SKU stands for the product."""
        known = self.by_ref.get(entry.product_ref) if entry.product_ref else self.by_sku.get(entry.sku)
        if known is None:
            known = self.client.entry_product(entry.kaspi_id)
            if known is not None:
                self.remember(known, entry.product_ref, entry.sku)
        return known
