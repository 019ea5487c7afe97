"""The customer's story and the go-live checklist in a real headless Chromium, on demo-like
data: the outbox list, an order's page, a customer's page, a dry shop's checklist with some
steps done. Screenshots are kept as test artifacts (var/test-artifacts/, or TEST_ARTIFACTS_DIR)."""

import pytest

from kaspi_sync.models import Shop

from .story_data import PHONE, seed
from .test_dashboard_browser import ARTIFACTS, admin_page, chromium  # noqa: F401  (the browser fixture)


@pytest.mark.django_db(transaction=True)
def test_an_operator_follows_a_customer_and_takes_a_shop_towards_live(live_server, chromium, admin_user, sandbox):
    data = seed()
    sandbox.control("kaspi/shops", token="demo-kaspi-token-dry", orders=0)
    with admin_page(chromium, live_server, 1500, 1000) as page:

        page.goto(f"{live_server.url}/admin/messaging/outboundmessage/")
        page.screenshot(path=str(ARTIFACTS / "outbox.png"), full_page=True)
        rows = page.locator("#result_list tbody tr").all_inner_texts()
        no_add = page.locator(".object-tools a.addlink").count()

        page.click(f"text=#{data['order'].code} >> nth=0")
        page.wait_for_selector("#messages-heading")
        page.screenshot(path=str(ARTIFACTS / "order.png"), full_page=True)
        order_statuses = page.locator(".story-message h2 .status").all_inner_texts()
        history_steps = page.locator(".story-message table.history tbody tr, .story-message table.history tr").count()

        page.click("#order-summary a")
        page.wait_for_selector("#customer-state")
        page.screenshot(path=str(ARTIFACTS / "customer.png"), full_page=True)
        customer_state = page.inner_text("#customer-state")
        customer_orders = page.locator(".order-story").count()

        page.goto(f"{live_server.url}/admin/kaspi_sync/shop/{data['dry'].pk}/checklist/")
        for step in ("kaspi", "waha"):
            page.click(f"tr[data-step={step}] input[type=submit]")
        page.click("tr[data-step=policy] input[type=submit]")
        page.screenshot(path=str(ARTIFACTS / "checklist.png"), full_page=True)
        states = dict(zip(page.locator("tr.step").evaluate_all("rows => rows.map(r => r.dataset.step)"),
                          page.locator("tr.step td:nth-child(2)").all_inner_texts()))
        go_live_disabled = page.locator("input[name=go_live]").is_disabled()

    assert no_add == 0  # history is not added by hand
    assert any("held until 09:00 27.11.2026 Almaty: quiet hours" in row and "Айгерим" in row for row in rows)
    assert any("blocked: the customer opted out" in row for row in rows)
    assert order_statuses == ["read", "held until 09:00 27.11.2026 Almaty: quiet hours"]
    assert history_steps >= 11
    assert f"{PHONE}" in customer_state and "not opted out" in customer_state and "2 of 3 messages" in customer_state
    assert customer_orders == 2
    assert states == {"kaspi": "done", "waha": "done", "webhook": "not checked", "model": "not checked",
                      "policy": "done", "test_message": "not checked", "go_live": "dry"}
    assert go_live_disabled and Shop.objects.get(pk=data["dry"].pk).mode == Shop.Mode.DRY
    for name in ("outbox", "order", "customer", "checklist"):
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 20_000
