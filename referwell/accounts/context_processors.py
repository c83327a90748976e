from django.http import HttpRequest


def practice(request: HttpRequest) -> dict[str, object]:
    return {
        "practice": getattr(request, "practice", None),
        "member": getattr(request, "member", None),
    }
