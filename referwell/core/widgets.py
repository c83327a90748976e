"""Form widgets."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import TYPE_CHECKING, Any

from django import forms
from django.forms.models import ModelChoiceIterator
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

if TYPE_CHECKING:
    from django.forms.renderers import BaseRenderer


class LongSelect(forms.Select):
    """A <select> for long lists (every partner of a network of thousands), rendered in Python.

    Django's Select renders each option through its own template, about 0.2 ms an option: a
    second for 5,000 partners on the client page. This writes the same markup directly, every
    value and label escaped; for a model choice field it reads only the key and the label
    column (`label_field`, the model's str) instead of making a model instance per option."""

    label_field = "name"

    def _pairs(self) -> Iterable[tuple[Any, Any]]:
        choices = self.choices
        if isinstance(choices, ModelChoiceIterator):
            if choices.field.empty_label is not None:
                yield "", choices.field.empty_label
            yield from choices.queryset.values_list("pk", self.label_field)
        else:
            yield from choices

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: BaseRenderer | None = None,
    ) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        selected = {str(v) for v in self.format_value(value)}
        options = []
        for value_, label in self._pairs():
            key = "" if value_ is None else str(value_)
            mark = " selected" if key in selected else ""
            options.append(f'<option value="{escape(key)}"{mark}>{escape(str(label))}</option>')
        return format_html("<select{}>{}</select>", flatatt(final), mark_safe("".join(options)))  # noqa: S308  # nosec B308 B703 — every part escaped above


class Chips(forms.CheckboxSelectMultiple):
    """A chooser of several (professions, niches) that a thumb can use: every choice a chip, a
    44 px tall label around a real checkbox; above a long list (`search_from` choices or more)
    a search box narrows the chips as one types (referwell/core/static/referwell/app.js).

    Like Django's CheckboxSelectMultiple it is a group (`use_fieldset`): the form's template
    draws the `<fieldset>`, its `<legend>` (the field's label), the help text and the errors
    (templates/form_fields.html, and Django's own form templates); the widget draws what goes
    inside. Without JavaScript it is a list of plain checkboxes: the search box is `hidden`
    until the script shows it, and it has no name, so it is never sent."""

    template_name = "core/widgets/chips.html"
    option_template_name = "core/widgets/chip.html"
    search_from = 8

    def __init__(
        self,
        attrs: dict[str, Any] | None = None,
        choices: Any = (),
        *,
        noun: str = "",
        empty: str = "Nothing to choose from yet.",
        search_from: int | None = None,
    ) -> None:
        super().__init__(attrs, choices)
        self.noun = noun  # "Search {noun}"; the field's name when not given
        self.empty = empty
        if search_from is not None:
            self.search_from = search_from

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        count = sum(len(options) for _group, options, _index in widget["optgroups"])
        widget["noun"] = self.noun or name.replace("_", " ")
        widget["search"] = count >= self.search_from
        widget["count"] = count
        widget["empty"] = self.empty
        return context
