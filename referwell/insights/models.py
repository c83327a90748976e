"""What the practice spent to win clients, per stream: the only input insights need."""

from __future__ import annotations

from django.db import models

from referwell.clients.models import Stream
from referwell.core.models import TenantModel


class StreamCost(TenantModel):
    """Money spent on one referral stream in one month (cards, gifts, events, ads)."""

    stream = models.CharField(max_length=20, choices=Stream.choices)
    month = models.DateField(help_text="The first day of the month.")
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-month", "stream"]

    def __str__(self) -> str:
        return f"{self.get_stream_display()} {self.month:%Y-%m}: {self.amount}"
