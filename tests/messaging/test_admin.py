"""The operator's side in Django admin: opt-outs, the outbox's actions, paused sessions."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from messaging import session_state
from messaging.models import OptOut, OutboundMessage
from seller import eligibility

Status = OutboundMessage.Status
pytestmark = pytest.mark.django_db


class TestOptOuts:
    def test_an_operator_adds_an_opt_out_in_any_format_and_it_is_stored_as_e164(self, admin_client):
        answer = admin_client.post(reverse("admin:messaging_optout_add"), {"phone": "8 (701) 123-45-67", "keyword": ""})
        assert answer.status_code == 302
        assert OptOut.objects.get().phone == "+77011234567"
        assert OptOut.objects.get().source == "admin"

    def test_a_number_that_is_no_kazakhstan_mobile_is_refused_with_a_clear_error(self, admin_client):
        answer = admin_client.post(reverse("admin:messaging_optout_add"), {"phone": "+7 727 212 34 56"})
        assert answer.status_code == 200
        assert "Not a Kazakhstan mobile number" in answer.content.decode()
        assert not OptOut.objects.exists()

    def test_search_finds_a_phone_however_it_is_typed(self, admin_client):
        OptOut.objects.create(phone="+77011234567")
        OptOut.objects.create(phone="+77021234567")
        page = admin_client.get(reverse("admin:messaging_optout_changelist"), {"q": "8 701 123 45 67"})
        assert "+77011234567" in page.content.decode() and "+77021234567" not in page.content.decode()

    def test_an_operator_removes_an_opt_out(self, admin_client):
        opt_out = OptOut.objects.create(phone="+77011234567")
        admin_client.post(reverse("admin:messaging_optout_delete", args=[opt_out.pk]), {"post": "yes"})
        assert not OptOut.objects.exists()

    def test_a_csv_import_normalises_phones_and_lists_the_lines_it_refused(self, admin_client):
        OptOut.objects.create(phone="+77051234567")
        csv = "phone,comment\n7011234567,kaspi\n+7 (702) 123-45-67\n87051234567\n\n+7 727 212 34 56\nnot a phone\n"
        upload = SimpleUploadedFile("optouts.csv", csv.encode(), content_type="text/csv")

        answer = admin_client.post(reverse("admin:messaging_optout_import"), {"file": upload}, follow=True)

        assert sorted(OptOut.objects.values_list("phone", flat=True)) == ["+77011234567", "+77021234567", "+77051234567"]
        assert set(OptOut.objects.filter(source="import").values_list("phone", flat=True)) == {"+77011234567",
                                                                                                "+77021234567"}
        text = answer.content.decode()
        assert "2 added, 1 already opted out." in text
        assert "line 6" in text and "line 7" in text

    def test_a_file_that_is_not_utf8_is_refused_and_nothing_is_imported(self, admin_client):
        upload = SimpleUploadedFile("optouts.csv", "7011234567;Стоп\n".encode("cp1251"), content_type="text/csv")
        answer = admin_client.post(reverse("admin:messaging_optout_import"), {"file": upload})
        assert "not UTF-8" in answer.content.decode() and not OptOut.objects.exists()

    def test_the_export_is_a_csv_of_every_opt_out(self, admin_client):
        OptOut.objects.create(phone="+77011234567", source="reply", keyword="стоп")
        OptOut.objects.create(phone="+77021234567")
        answer = admin_client.get(reverse("admin:messaging_optout_export"))
        assert answer["Content-Type"].startswith("text/csv")
        lines = answer.content.decode().splitlines()
        assert lines[0] == "phone,source,keyword,shop,created_at"
        assert [line.split(",")[:3] for line in lines[1:]] == [["+77011234567", "reply", "стоп"],
                                                                ["+77021234567", "admin", ""]]


class TestOutbox:
    def test_the_outbox_filters_by_status_and_reason(self, admin_client, make_message):
        make_message(status=Status.BLOCKED)
        OutboundMessage.objects.update(reason="cap")
        make_message(phone="+77021234567")
        page = admin_client.get(reverse("admin:messaging_outboundmessage_changelist"), {"status": "blocked", "reason": "cap"})
        assert page.status_code == 200
        assert page.context["cl"].result_count == 1

    def test_cancel_stops_rows_not_yet_sent_and_gives_their_places_back(self, admin_client, make_message,
                                                                        django_capture_on_commit_callbacks):
        waiting = make_message()
        assert eligibility.check_message(waiting.pk)
        sent = make_message(phone="+77021234567", status=Status.SENT)

        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(reverse("admin:messaging_outboundmessage_changelist"),
                              {"action": "cancel_messages", "_selected_action": [waiting.pk, sent.pk]})

        waiting.refresh_from_db()
        assert (waiting.status, waiting.reason, waiting.reserved_at) == ("cancelled", "operator", None)
        assert OutboundMessage.objects.get(pk=sent.pk).status == "sent"
        assert eligibility.check_message(make_message().pk)  # the cooldown no longer counts it

    def test_retry_starts_a_failed_row_again_from_the_policy(self, admin_client, make_message,
                                                             django_capture_on_commit_callbacks):
        failed = make_message(status=Status.FAILED, text="old")
        OutboundMessage.objects.filter(pk=failed.pk).update(reason="waha_http_400", attempts=1)
        pending = make_message(phone="+77021234567")

        with django_capture_on_commit_callbacks() as callbacks:
            admin_client.post(reverse("admin:messaging_outboundmessage_changelist"),
                              {"action": "retry_messages", "_selected_action": [failed.pk, pending.pk]})

        failed.refresh_from_db()
        assert (failed.status, failed.reason, failed.attempts, failed.text) == ("pending", "", 0, "")
        assert len(callbacks) == 1  # one pipeline started, for the failed row only


def test_a_paused_session_is_shown_to_the_operator_who_can_resume_it(admin_client):
    session_state.pause("default", "POST /api/sendText: HTTP 500: ... error 463 (reachout timelock)")
    page = admin_client.get(reverse("admin:messaging_sessionpause_changelist"))
    assert "reachout timelock" in page.content.decode()

    pause = session_state.SessionPause.objects.get()
    admin_client.post(reverse("admin:messaging_sessionpause_changelist"),
                      {"action": "resume", "_selected_action": [pause.pk]})
    assert session_state.paused_sessions() == []
