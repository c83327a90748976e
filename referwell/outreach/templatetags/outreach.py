from django import template

from referwell.outreach.pipeline import BOARD_STAGES

register = template.Library()


@register.filter
def next_stage(stage: str) -> str:
    i = BOARD_STAGES.index(stage)
    return BOARD_STAGES[min(i + 1, len(BOARD_STAGES) - 1)]


@register.filter
def prev_stage(stage: str) -> str:
    i = BOARD_STAGES.index(stage)
    return BOARD_STAGES[max(i - 1, 0)]
