"""The audit trail's action codes in plain words, for the owner's page. A code missing here is
shown as it is."""

from referwell.referrals.states import Status

ACTION_LABELS: dict[str, str] = {
    "referwell.practice.created": "Practice created",
    "referwell.practice.changed": "Practice settings changed",
    "referwell.practice.exported": "Everything exported (backup)",
    "referwell.member.added": "Member added",
    "referwell.member.invited": "Someone invited to join",
    "referwell.member.accepted": "Invitation accepted",
    "referwell.member.notifications": "E-mail settings changed",
    "referwell.member.declined": "Invitation declined",
    "referwell.member.invitation_withdrawn": "Invitation withdrawn",
    "referwell.api_token.issued": "API token issued",
    "referwell.partner.created": "Partner added",
    "referwell.partner.changed": "Partner changed",
    "referwell.partner.merged": "Duplicate partners merged",
    "referwell.partner.vcards_imported": "Partners imported from vCards",
    "referwell.touchpoint.created": "Contact with a partner recorded",
    "referwell.plan.created": "Next step planned with a prospect",
    "referwell.client.created": "Client added",
    "referwell.client.changed": "Client changed",
    "referwell.client.viewed": "Client's page viewed",
    "referwell.client.opened_for_editing": "Client opened for editing",
    "referwell.client.listed": "Clients listed (API)",
    "referwell.visit.created": "Visit recorded",
    "referwell.consent.recorded": "Consent recorded",
    "referwell.consent.revoked": "Consent revoked",
    "referwell.disclosure.recorded": "Client information disclosed",
    "referwell.disclosures.viewed": "Accounting of disclosures viewed",
    "referwell.referral.created": "Referral created",
    "referwell.referral.changed": "Referral changed",
    "referwell.referral.viewed": "Referral viewed",
    "referwell.referral.listed": "Referrals listed (API)",
    "referwell.referral.imported": "Referral imported",
    "referwell.referral.followup_done": "Referral follow-up done",
    "referwell.link.issued": "Partner link issued",
    "referwell.link.revoked": "Partner link revoked",
    "referwell.link.opened": "Partner link opened by the partner",
    "referwell.link.accept": "Partner accepted through the link",
    "referwell.link.decline": "Partner declined through the link",
    "referwell.link.seen": "Partner marked the client seen through the link",
    "referwell.link.note": "Partner left a note through the link",
    "referwell.message.sent": "Letter or e-mail sent",
    "referwell.message.pdf": "Letter downloaded as PDF",
    "referwell.letter_template.saved": "Letter template saved",
    "referwell.today.done": "Today item done",
    "referwell.today.snoozed": "Today item snoozed",
    "referwell.today.skipped": "Today item skipped",
    "referwell.inbound.received": "Referral request received (public page)",
    "referwell.inbound.viewed": "Referral request viewed",
    "referwell.inbound.accepted": "Referral request accepted",
    "referwell.inbound.rejected": "Referral request rejected",
    "referwell.insights.exported": "Report exported as CSV",
    "referwell.list.exported": "List exported as CSV",
    "referwell.csv.imported": "CSV imported",
    "referwell.fhir.exported": "FHIR export",
    "referwell.fhir.imported": "FHIR import",
    "referwell.fhir.read": "Read through FHIR",
    "referwell.fhir.searched": "Searched through FHIR",
    "referwell.guidance.suggested": "Suggestions asked for",
    "referwell.audit.pruned": "Audit entries past the retention deleted",
    "referwell.audit.exported": "Audit trail exported as CSV",
} | {
    f"referwell.referral.{s.value.replace('-', '_')}": f"Referral marked “{s.label}”"
    for s in Status
}


def action_label(code: str) -> str:
    return ACTION_LABELS.get(code, code)
