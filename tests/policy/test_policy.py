"""The policy with a controllable clock: every check is given its `now`."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from messaging import outbox
from messaging.models import OptOut, OutboundMessage, Trigger
from kaspi_sync import quiet_hours
from seller import eligibility

from .conftest import PHONE, almaty, forget_redis_keys

Status = OutboundMessage.Status
NOON = almaty(2026, 11, 24, 12, 0)


def check(message, now):
    allowed = eligibility.check_message(message.pk, now=now)
    message.refresh_from_db()
    return allowed


class TestQuietHours:
    def test_it_defers_a_message_due_inside_quiet_hours_to_the_window_end(self, policy_shop, make_message):
        policy_shop.quiet_hours = "21:00-09:00"
        policy_shop.save()
        message = make_message(created=almaty(2026, 11, 24, 22, 15))

        assert not check(message, now=almaty(2026, 11, 24, 22, 30))

        assert (message.status, message.not_before) == ("deferred", almaty(2026, 11, 25, 9, 0))
        assert message.events.last().note == "quiet_hours"

    def test_after_midnight_it_waits_for_the_same_morning(self, policy_shop, make_message):
        policy_shop.quiet_hours = "21:00-09:00"
        policy_shop.save()
        message = make_message(created=almaty(2026, 11, 25, 2, 0))
        assert not check(message, now=almaty(2026, 11, 25, 2, 5))
        assert message.not_before == almaty(2026, 11, 25, 9, 0)

    def test_outside_quiet_hours_a_message_goes_on(self, policy_shop, make_message):
        policy_shop.quiet_hours = "21:00-09:00"
        policy_shop.save()
        message = make_message(created=almaty(2026, 11, 24, 9, 0))
        assert check(message, now=almaty(2026, 11, 24, 9, 0))
        assert message.status == "approved" and message.reserved_at is not None

    def test_quiet_hours_are_read_in_the_shops_own_time_zone(self, policy_shop, make_message):
        policy_shop.quiet_hours, policy_shop.timezone = "21:00-09:00", "Europe/Moscow"
        policy_shop.save()
        # 22:30 in Almaty is 20:30 in Moscow: not quiet for this shop.
        message = make_message(created=almaty(2026, 11, 24, 22, 0))
        assert check(message, now=almaty(2026, 11, 24, 22, 30))

    def test_the_default_comes_from_the_settings_and_off_turns_it_off(self, settings, policy_shop, make_message):
        settings.SELLER_QUIET_HOURS = "21:00-09:00"
        late = almaty(2026, 11, 24, 23, 0)
        assert not check(make_message(created=late), now=late)
        policy_shop.quiet_hours = "off"
        policy_shop.save()
        assert check(make_message(phone="+77021234567", created=late), now=late)

    @pytest.mark.parametrize("value", ["21-09", "25:00-09:00", "evening"])
    def test_a_malformed_window_is_refused_with_a_clear_error(self, policy_shop, value):
        policy_shop.quiet_hours = value
        with pytest.raises(ValidationError, match="quiet hours"):
            policy_shop.full_clean()
        with pytest.raises(ValueError):
            quiet_hours.parse(value)


class TestCooldown:
    def test_it_defers_a_message_inside_the_cooldown(self, make_message):
        first, second = make_message(created=NOON), make_message(created=NOON + timedelta(hours=2))
        assert check(first, now=NOON)

        assert not check(second, now=NOON + timedelta(hours=2))

        assert (second.status, second.not_before) == ("deferred", NOON + timedelta(hours=24))
        assert second.reserved_at is None
        assert second.events.last().note == "cooldown"

    def test_after_the_cooldown_the_deferred_message_goes(self, make_message):
        first, second = make_message(created=NOON), make_message(created=NOON + timedelta(hours=2))
        check(first, now=NOON)
        check(second, now=NOON + timedelta(hours=2))

        assert eligibility.release_due(now=NOON + timedelta(hours=24)) == [(second.pk, Status.PENDING)]
        assert check(second, now=NOON + timedelta(hours=24))

    def test_a_cooldown_longer_than_the_deferral_limit_expires_the_message(self, policy_shop, make_message):
        policy_shop.cooldown_hours = 96  # past SELLER_MAX_DEFER_HOURS (72)
        policy_shop.save()
        first, second = make_message(created=NOON), make_message(created=NOON + timedelta(hours=1))
        check(first, now=NOON)
        assert not check(second, now=NOON + timedelta(hours=1))
        assert (second.status, second.reason) == ("blocked", "expired")

    def test_a_message_that_waited_past_the_limit_expires(self, make_message):
        message = make_message(created=NOON)
        assert not check(message, now=NOON + timedelta(hours=73))
        assert (message.status, message.reason) == ("blocked", "expired")

    def test_other_customers_and_shops_with_their_own_number_are_not_held_back(self, policy_shop, make_message):
        from kaspi_sync.models import Shop

        own_number = Shop.objects.create(name="Другой магазин", kaspi_token="kaspi-other-token-02", waha_session="other")
        assert check(make_message(created=NOON), now=NOON)
        assert check(make_message(phone="+77021234567", created=NOON), now=NOON)
        assert check(make_message(shop=own_number, created=NOON), now=NOON)

    def test_two_shops_on_one_whatsapp_number_share_the_customers_cooldown_and_cap(self, policy_shop, make_message):
        from kaspi_sync.models import Shop

        same_number = Shop.objects.create(name="Соседний магазин", kaspi_token="kaspi-other-token-03")
        assert policy_shop.session_name == same_number.session_name
        assert check(make_message(created=NOON), now=NOON)
        second = make_message(shop=same_number, created=NOON)
        assert not check(second, now=NOON + timedelta(hours=1))
        assert (second.status, second.events.last().note) == ("deferred", "cooldown")


class TestCap:
    def test_the_fourth_message_in_thirty_days_is_blocked(self, policy_shop, make_message):
        policy_shop.cooldown_hours = 0
        policy_shop.save()
        results = [check(make_message(created=NOON + timedelta(days=day)), now=NOON + timedelta(days=day)) for day in range(4)]
        assert results == [True, True, True, False]
        assert OutboundMessage.objects.get(reason="cap").status == "blocked"

    def test_the_window_moves_on(self, policy_shop, make_message):
        policy_shop.cooldown_hours, policy_shop.max_messages = 0, 1
        policy_shop.save()
        assert check(make_message(created=NOON), now=NOON)
        later = NOON + timedelta(days=30, minutes=1)
        assert check(make_message(created=later), now=later)

    def test_the_daily_cap_defers_to_the_shops_next_day(self, policy_shop, make_message):
        policy_shop.max_daily_messages = 2
        policy_shop.save()
        phones = ["+77011234567", "+77021234567", "+77051234567"]
        results = [check(make_message(phone=phone, created=NOON), now=NOON) for phone in phones]
        assert results == [True, True, False]
        deferred = OutboundMessage.objects.get(phone=phones[2])
        assert (deferred.status, deferred.not_before) == ("deferred", almaty(2026, 11, 25, 0, 0))
        assert deferred.events.last().note == "daily_cap"

    def test_a_reservation_is_released_when_its_message_fails_for_good(self, policy_shop, make_message,
                                                                        django_capture_on_commit_callbacks):
        policy_shop.max_messages = 1
        policy_shop.save()
        first = make_message(created=NOON)
        assert check(first, now=NOON)
        outbox.move(first.pk, Status.APPROVED, Status.GENERATED)
        with django_capture_on_commit_callbacks(execute=True):
            outbox.move(first.pk, Status.GENERATED, Status.FAILED, reason="waha_http_400")
        first.refresh_from_db()
        assert first.reserved_at is None

        # Neither the cap nor the cooldown count a message that never reached the customer.
        assert check(make_message(created=NOON), now=NOON + timedelta(minutes=1))

    def test_a_check_that_runs_twice_reserves_once(self, policy_shop, make_message):
        policy_shop.max_messages, policy_shop.cooldown_hours = 2, 0
        policy_shop.save()
        message = make_message(created=NOON)
        assert check(message, now=NOON) and not check(message, now=NOON)  # approved already: no-op
        assert check(make_message(created=NOON), now=NOON)
        assert not check(make_message(created=NOON), now=NOON)

    def test_the_cap_holds_after_redis_loses_its_keys(self, policy_shop, make_message):
        policy_shop.cooldown_hours = 0
        policy_shop.save()
        assert check(make_message(created=NOON), now=NOON)
        assert check(make_message(created=NOON), now=NOON)
        assert forget_redis_keys() > 0

        assert check(make_message(created=NOON), now=NOON)  # rebuilt from the outbox: 2 of 3 taken
        assert not check(make_message(created=NOON), now=NOON)

    def test_a_cooldown_rebuilt_from_the_outbox_counts_the_whatsapp_number_not_the_shop(self, policy_shop, make_message,
                                                                                          settings):
        from kaspi_sync.models import Shop

        default_by_name = Shop.objects.create(name="Соседний магазин", kaspi_token="kaspi-other-token-04",
                                              waha_session=settings.WAHA_SESSION)
        own_number = Shop.objects.create(name="Другой магазин", kaspi_token="kaspi-other-token-05", waha_session="other")
        assert check(make_message(shop=own_number, created=NOON), now=NOON)
        assert forget_redis_keys() > 0
        assert check(make_message(created=NOON), now=NOON)  # another number's message does not hold it back

        assert check(make_message(phone="+77021234567", created=NOON), now=NOON)  # an empty session: WAHA_SESSION
        assert forget_redis_keys() > 0
        held = make_message(phone="+77021234567", shop=default_by_name, created=NOON)  # the same number, by name
        assert not check(held, now=NOON + timedelta(hours=1))
        assert (held.status, held.events.last().note) == ("deferred", "cooldown")

    def test_the_daily_cap_holds_when_redis_loses_only_the_days_keys(self, policy_shop, make_message):
        policy_shop.max_daily_messages = 2
        policy_shop.save()
        assert check(make_message(phone="+77011234567", created=NOON), now=NOON)
        assert check(make_message(phone="+77021234567", created=NOON), now=NOON)
        assert forget_redis_keys("limits:day:*") == 2  # the day's reservations and their marker

        assert not check(make_message(phone="+77051234567", created=NOON), now=NOON)
        assert OutboundMessage.objects.get(phone="+77051234567").events.last().note == "daily_cap"

    def test_the_cooldown_holds_after_redis_loses_its_keys(self, make_message):
        assert check(make_message(created=NOON), now=NOON)
        forget_redis_keys()
        later = make_message(created=NOON)
        assert not check(later, now=NOON + timedelta(hours=1))
        assert later.not_before == NOON + timedelta(hours=24)


class TestOtherRules:
    def test_a_disabled_trigger_is_blocked(self, policy_shop, make_message):
        message = make_message(created=NOON)
        policy_shop.post_purchase_enabled = False
        policy_shop.save()
        assert not check(message, now=NOON)
        assert (message.status, message.reason) == ("blocked", "disabled")

    def test_an_opted_out_phone_is_blocked(self, make_message):
        OptOut.objects.create(phone=PHONE)
        message = make_message(created=NOON)
        assert not check(message, now=NOON)
        assert (message.status, message.reason) == ("blocked", "opt_out")

    def test_a_cancelled_order_cancels_its_message(self, make_message):
        message = make_message(created=NOON, state="cancelled")
        assert not check(message, now=NOON)
        assert (message.status, message.reason) == ("cancelled", "order_cancelled")

    def test_each_trigger_waits_its_own_delay(self, policy_shop, make_message):
        policy_shop.post_purchase_delay_hours, policy_shop.delivered_delay_hours = 1, 48
        policy_shop.save()
        bought = make_message(created=NOON)
        delivered = make_message(phone="+77021234567", trigger=Trigger.ORDER_DELIVERED, created=NOON, delivered_at=NOON,
                                 state="delivered")
        assert not check(bought, now=NOON) and not check(delivered, now=NOON)
        assert bought.not_before == NOON + timedelta(hours=1)
        assert delivered.not_before == NOON + timedelta(hours=48)
        assert bought.events.last().note == "delay"

    def test_a_row_deferred_after_writing_keeps_its_text_when_due(self, make_message):
        message = make_message(created=NOON, status=Status.DEFERRED, text="Спасибо за заказ!")
        OutboundMessage.objects.filter(pk=message.pk).update(not_before=NOON)
        waiting = make_message(phone="+77021234567", created=NOON, status=Status.DEFERRED)
        OutboundMessage.objects.filter(pk=waiting.pk).update(not_before=NOON)

        assert sorted(eligibility.release_due(now=NOON)) == sorted([(message.pk, Status.GENERATED),
                                                                    (waiting.pk, Status.PENDING)])

        message.refresh_from_db()
        waiting.refresh_from_db()
        assert (message.status, message.text) == ("generated", "Спасибо за заказ!")
        assert waiting.status == "pending"
