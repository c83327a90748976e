"""Help written for the therapist: one page, task by task (site/help.html), and which part of it
each page's Help link opens (PAGE_TOPICS, read by the `help_link` tag in templatetags/help.py).
config/urls.py includes this module at help/ (its `urlpatterns`).

The page holds no practice data: the same words for every member, a line about their role aside.
"""

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from referwell.accounts.http import PracticeRequest
from referwell.core.decorators import practice_required

# The guide's top: the first ten minutes. A page with no topic of its own opens here.
GUIDE_TOP = "first-ten-minutes"

# Each topic of the help page, by its anchor id, with its heading (the page's contents, in order).
TOPICS: dict[str, str] = {
    "first-ten-minutes": "Your first ten minutes",
    "add-partners": "1. Add your partners",
    "import-cards": "Import business cards (vCards)",
    "import-csv": "Import a CSV file",
    "find-nearby": "Find professionals near you",
    "record-client": "2. Record a client",
    "consent": "Record the client's consent",
    "first-referral": "3. Make and send a first referral",
    "after-sending": "What happens after you send it",
    "answer-today": "4. Answer Today",
    "dashboard": "The dashboard",
    "clients": "Clients",
    "suggested-referrals": "Suggested referrals",
    "referrals": "Referrals",
    "referrals-in": "A client someone sent you",
    "partners": "Partners",
    "outreach": "The outreach board and niches",
    "calendar": "Today in your phone's calendar",
    "insights": "Insights",
    "letters": "Letters and the outbox",
    "inbound": "Inbound referrals",
    "settings": "Practice settings",
    "members": "Members and roles",
    "notifications": "Your e-mails",
    "two-factor": "Two-factor login",
    "audit-trail": "The audit trail",
}

# Each page (by its URL name) and the topic its Help link opens.
PAGE_TOPICS: dict[str, str] = {
    "help": GUIDE_TOP,
    "dashboard": "dashboard",
    "invitations": "members",
    # Today and its calendar
    "today": "answer-today",
    "calendar_feed_page": "calendar",
    # Partners
    "partner_list": "partners",
    "partner_detail": "partners",
    "partner_edit": "partners",
    "partner_merge": "partners",
    "touchpoint_add": "partners",
    "partner_create": "add-partners",
    "partner_import": "import-cards",
    "partner_import_preview": "import-cards",
    "partner_import_confirm": "import-cards",
    "csv_import": "import-csv",
    "csv_import_map": "import-csv",
    "csv_import_preview": "import-csv",
    "csv_import_confirm": "import-csv",
    "registry_search": "find-nearby",
    "registry_import": "find-nearby",
    "registry_job": "find-nearby",
    # Clients and consents
    "client_list": "clients",
    "client_detail": "clients",
    "client_edit": "record-client",
    "client_create": "record-client",
    "visit_add": "clients",
    "client_disclosures": "clients",
    "consent_add": "consent",
    "consent_detail": "consent",
    "consent_sign": "consent",
    "consent_upload": "consent",
    # Referrals
    "referral_list": "referrals",
    "referral_detail": "referrals",
    "referral_transition": "referrals",
    "referral_create": "first-referral",
    "referral_send": "first-referral",
    "referral_report": "referrals-in",
    "referral_thank": "referrals-in",
    "referral_thank_care": "after-sending",
    # Outreach, insights, letters
    "pipeline": "outreach",
    "niches": "outreach",
    "insights": "insights",
    "outbox": "letters",
    "letters": "letters",
    "letter_edit": "letters",
    # Inbound
    "inbound_list": "inbound",
    "inbound_detail": "inbound",
    # The practice and the member
    "practice_settings": "settings",
    "practice_export": "settings",
    "practice_restore": "settings",
    "practice_restore_job": "settings",
    "members": "members",
    "notifications": "notifications",
    "two_factor": "two-factor",
    "two_factor_verify": "two-factor",
    "audit_trail": "audit-trail",
}

# URL names with no page of a member's own to help with: public pages (the partner's link, the
# client's consent link, the public referral pages, login), downloads, the API and FHIR, and
# actions that only answer a button and go back to their page. A new URL name must be in one of
# the two (tests/test_help.py says which is missing).
NO_HELP: frozenset[str] = frozenset(
    {
        # public, or before logging in
        "health",
        "login",
        "logout",
        "password_reset",
        "password_reset_done",
        "password_reset_confirm",
        "password_reset_complete",
        "partner_link",
        "client_consent",
        "client_consent_copy",
        "calendar_feed",
        "refer_practice",
        "refer_thanks",
        "refer_partner",
        # downloads
        "partner_vcard",
        "consent_document",
        "csv_export",
        "insights_csv",
        "outbox_pdf",
        # buttons that go back to their page
        "practice_two_factor",
        "member_edit",
        "today_act",
        "partner_letter",
        "partner_import_cancel",
        "csv_import_cancel",
        "registry_add",
        "consent_send_link",
        "consent_revoke",
        "referral_note",
        "referral_undo",
        "referral_link_new",
        "referral_link_revoke",
        "referral_followup_done",
        "pipeline_move",
        "plan_add",
        "plan_done",
        "niche_delete",
        "insights_cost_add",
        "outbox_retry",
        "inbound_accept",
        "inbound_reject",
        # for the browser, and the design page of the stylesheet (for developers)
        "manifest",
        "favicon",
        "design",
        # machines
        "fhir_metadata",
        "fhir_search",
        "fhir_read",
        "fhir_unknown",
    }
)


def topic_for(url_name: str | None) -> str:
    """The help topic for a page, by its URL name: the guide's top when it has none."""
    return PAGE_TOPICS.get(url_name or "", GUIDE_TOP)


@require_GET
@practice_required
def help_page(request: PracticeRequest) -> HttpResponse:
    """The guide, for every member whatever their role."""
    return render(request, "site/help.html", {"topics": TOPICS})


urlpatterns = [path("", help_page, name="help")]
