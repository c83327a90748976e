from django.http import HttpRequest


def practice(request: HttpRequest) -> dict[str, object]:
    if getattr(request, "two_factor_pending", None):
        # Until the code is given (or the required device set up), no practice and no menu.
        return {"practice": None, "member": None, "two_factor_pending": True}
    return {
        "practice": getattr(request, "practice", None),
        "member": getattr(request, "member", None),
    }
