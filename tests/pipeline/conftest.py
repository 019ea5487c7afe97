import pytest

from messaging.models import OutboundMessage
from seller import eligibility
from tests.policy.conftest import make_message, policy_shop  # noqa: F401  (shared factories)

TEXT = "Здравствуйте! Спасибо за заказ."
CHAT = "77011234567@c.us"


@pytest.fixture
def written(make_message):
    """A row that passed the policy (its place reserved) and has its text: ready to send."""
    def make(**kwargs):
        message = make_message(**kwargs)
        assert eligibility.check_message(message.pk)
        OutboundMessage.objects.filter(pk=message.pk).update(status="generated", text=TEXT)
        return message
    return make
