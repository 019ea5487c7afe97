from messaging.models import OutboundMessage
from seller import writer

HEADPHONES = "109713498"  # JBL Tune 520BT черный, in the sandbox's catalogue
POWER_BANK = "108123711"  # Baseus Bipow 10000 мАч белый
KAZAKH_LETTERS = set("әіңғүұқөһ")


def write(row) -> OutboundMessage:
    """Write the row as the pipeline's `generate_message` step does (after the eligibility step
    approved it), and read it back."""
    OutboundMessage.objects.filter(pk=row.pk, status="pending").update(status="approved")
    assert writer.write_message(row.pk)
    row.refresh_from_db()
    return row


def is_kazakh(text: str) -> bool:
    return bool(KAZAKH_LETTERS & set(text.lower()))
