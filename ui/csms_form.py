"""A form generated from an action's request schema (app/csms/schema_form.FieldSpec).

One editor per field kind: drop-downs for enums, spin boxes for numbers, a check box for
booleans, line edits for strings (date-times get a "now" button), group boxes for nested
objects, item lists with add / remove for arrays. Optional fields start switched off, so what
is sent is what the engineer chose; their content is built when first switched on, which keeps
big messages (SetChargingProfile, SetDERControl) quick to open.

Every editor can show any value the schema allows and reports when a value (pasted as raw
JSON) does not fit, so the raw JSON and the form never silently disagree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.clock import utc_timestamp
from app.csms.schema_form import FieldSpec, starting_value
from app.protocol.schemas import Problem

INT_LIMIT = 2**31 - 1  # QSpinBox holds a C int
NUMBER_LIMIT = 1e12
INPUT_MIN_WIDTH = 80
# Marks are a property, not a per-widget stylesheet: a stylesheet set on a group box would
# paint every field inside it red too.
FORM_STYLE = """
QGroupBox { border: 1px solid #d5d9e0; border-radius: 4px; margin-top: 16px; padding-top: 2px; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 3px; font-weight: 600; }
QGroupBox[flat="true"] { border: none; }
QGroupBox[problem="true"] { border: 1px solid #c62828; }
QGroupBox[problem="true"]::title { color: #c62828; }
QLineEdit[problem="true"], QSpinBox[problem="true"], QDoubleSpinBox[problem="true"],
QComboBox[problem="true"], QCheckBox[problem="true"] {
    border: 1px solid #c62828; background: #fdecec;
}
"""
_LAST_STEP = re.compile(r"(\.[^.\[]+|\[\d+\]|^[^.\[]+)$")

OnChange = Callable[[], None]


def _now() -> datetime:
    return datetime.now(UTC)


def _tooltip(spec: FieldSpec) -> str:
    facts = [spec.type_name or spec.kind]
    if spec.required:
        facts.append("required")
    if spec.minimum is not None or spec.maximum is not None:
        low = "" if spec.minimum is None else f"{spec.minimum:g}"
        high = "" if spec.maximum is None else f"{spec.maximum:g}"
        facts.append(f"range {low}…{high}")
    if spec.max_length is not None:
        facts.append(f"at most {spec.max_length} characters")
    head = " · ".join(facts)
    return f"{head}\n\n{spec.description}" if spec.description else head


class Editor(QWidget):
    """Base of all field editors: a value in, a value out, problem marks."""

    def __init__(self, spec: FieldSpec, path: str, on_change: OnChange) -> None:
        super().__init__()
        self.spec = spec
        self.path = path
        self.on_change = on_change
        self.setToolTip(_tooltip(spec))

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> bool:
        """Show `value`; False when it cannot be shown as it is (wrong type, unknown key…)."""
        raise NotImplementedError

    def marks(self) -> Iterator[tuple[str, QWidget]]:
        """(payload path, widget to mark) of this editor and every included editor below."""
        yield self.path, self


class ScalarEditor(Editor):
    def __init__(self, spec: FieldSpec, path: str, on_change: OnChange) -> None:
        super().__init__(spec, path, on_change)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.input: QWidget
        if spec.enum:
            combo = QComboBox()
            # Long enum values (ChargingStationExternalConstraints) must not widen the form.
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
            combo.addItems(list(spec.enum))
            combo.currentIndexChanged.connect(lambda _: on_change())
            self.input = combo
        elif spec.kind == "boolean":
            check = QCheckBox("true")
            check.toggled.connect(lambda _: on_change())
            self.input = check
        elif spec.kind == "integer":
            spin = QSpinBox()
            spin.setRange(
                int(spec.minimum) if spec.minimum is not None else -INT_LIMIT,
                int(spec.maximum) if spec.maximum is not None else INT_LIMIT,
            )
            spin.valueChanged.connect(lambda _: on_change())
            self.input = spin
        elif spec.kind == "number":
            number = QDoubleSpinBox()
            number.setDecimals(3)
            number.setRange(
                spec.minimum if spec.minimum is not None else -NUMBER_LIMIT,
                spec.maximum if spec.maximum is not None else NUMBER_LIMIT,
            )
            number.valueChanged.connect(lambda _: on_change())
            self.input = number
        else:
            line = QLineEdit()
            if spec.max_length is not None:
                line.setMaxLength(spec.max_length)
            if spec.date_time:
                line.setPlaceholderText("2026-01-31T12:00:00Z")
            line.textChanged.connect(lambda _: on_change())
            self.input = line
        self.input.setToolTip(self.toolTip())
        # Spin boxes size themselves for ±2^31: let deep, narrow forms shrink them instead.
        self.input.setMinimumWidth(INPUT_MIN_WIDTH)
        layout.addWidget(self.input, 1)
        if spec.date_time:
            now = QToolButton()
            now.setText("Now")
            now.setToolTip("Put the current UTC time in this field")
            now.clicked.connect(lambda: self.set_value(utc_timestamp(_now())))
            layout.addWidget(now)
        self.input.blockSignals(True)  # a starting value is no edit
        self.set_value(starting_value(spec, _now()))
        self.input.blockSignals(False)

    def value(self) -> Any:
        widget = self.input
        if isinstance(widget, QComboBox):
            return widget.currentText()
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, QSpinBox | QDoubleSpinBox):
            return widget.value()
        assert isinstance(widget, QLineEdit)
        return widget.text()

    def set_value(self, value: Any) -> bool:
        widget = self.input
        if isinstance(widget, QComboBox):
            index = widget.findText(value) if isinstance(value, str) else -1
            if index < 0:
                return False
            widget.setCurrentIndex(index)
        elif isinstance(widget, QCheckBox):
            if not isinstance(value, bool):
                return False
            widget.setChecked(value)
        elif isinstance(widget, QSpinBox):
            if isinstance(value, bool) or not isinstance(value, int):
                return False
            widget.setValue(value)
        elif isinstance(widget, QDoubleSpinBox):
            if isinstance(value, bool) or not isinstance(value, int | float):
                return False
            widget.setValue(float(value))
        else:
            assert isinstance(widget, QLineEdit)
            if not isinstance(value, str):
                return False
            widget.setText(value)
        return self.value() == value

    def marks(self) -> Iterator[tuple[str, QWidget]]:
        yield self.path, self.input


def make_editor(spec: FieldSpec, path: str, on_change: OnChange) -> Editor:
    if spec.kind == "object":
        return ObjectEditor(spec, path, on_change)
    if spec.kind == "array":
        return ArrayEditor(spec, path, on_change)
    return ScalarEditor(spec, path, on_change)


def _child_path(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


class Field:
    """One property of an object: its label (a switch when optional) and its editor.

    Objects and arrays sit in a group box whose title is the switch. An optional field's editor
    is built when the field is first included: a list of 50 charging periods of 20 optional
    fields each would otherwise take seconds to show.
    """

    def __init__(self, spec: FieldSpec, path: str, on_change: OnChange) -> None:
        self.spec = spec
        self.path = path
        self.on_change = on_change
        self.editor: Editor | None = None
        self.nested = spec.kind in ("object", "array")
        if self.nested:
            # The name only: a title sets the group's minimum width, and nested titles add up.
            # The type name is in the tooltip.
            self.group = QGroupBox(f"{spec.name} […]" if spec.kind == "array" else spec.name)
            self.group.setToolTip(_tooltip(spec))
            self.group.setCheckable(not spec.required)
            self.group_layout = QVBoxLayout(self.group)
            self.group_layout.setContentsMargins(8, 4, 8, 6)
            self.label: QWidget = self.group
            if spec.required:
                self._build()
            else:
                self.group.setChecked(False)
                self.group.setFlat(True)  # switched off: a title with a check box, no empty frame
                self.group.toggled.connect(self._on_switch)
        else:
            #: Where the editor goes, in the form's field column.
            self.slot = QWidget()
            slot_layout = QHBoxLayout(self.slot)
            slot_layout.setContentsMargins(0, 0, 0, 0)
            if spec.required:
                self.label = QLabel(spec.name)
                self._build()
            else:
                switch = QCheckBox(spec.name)
                switch.toggled.connect(self._on_switch)
                self.label = switch
            optional = "" if spec.required else "\n\nOptional: tick to include it in the request"
            self.label.setToolTip(_tooltip(spec) + optional)

    @property
    def included(self) -> bool:
        if self.spec.required:
            return True
        if self.nested:
            return self.group.isChecked()
        assert isinstance(self.label, QCheckBox)
        return self.label.isChecked()

    def set_included(self, included: bool) -> None:
        if self.spec.required or included == self.included:
            return
        if self.nested:
            self.group.setChecked(included)
        else:
            assert isinstance(self.label, QCheckBox)
            self.label.setChecked(included)

    def _build(self) -> None:
        self.editor = make_editor(self.spec, self.path, self.on_change)
        if self.nested:
            self.group_layout.addWidget(self.editor)
        else:
            layout = self.slot.layout()
            assert layout is not None
            layout.addWidget(self.editor)

    def _on_switch(self, on: bool) -> None:
        if self.editor is None:
            self._build()
        assert self.editor is not None
        self.editor.setVisible(on)  # switched off keeps its value for when it is switched on again
        if self.nested:
            self.group.setFlat(not on)
            _repolish(self.group)
        self.on_change()


class ObjectEditor(Editor):
    def __init__(self, spec: FieldSpec, path: str, on_change: OnChange) -> None:
        super().__init__(spec, path, on_change)
        self.setToolTip("")  # the group box around it carries the description
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.fields: dict[str, Field] = {}
        for child in spec.children:
            field = Field(child, _child_path(path, child.name), on_change)
            self.fields[child.name] = field
            if field.nested:
                form.addRow(field.group)
            else:
                form.addRow(field.label, field.slot)
        if not spec.children:
            form.addRow(QLabel("(no fields)"))

    def value(self) -> dict[str, Any]:
        return {
            name: field.editor.value()
            for name, field in self.fields.items()
            if field.included and field.editor is not None
        }

    def set_value(self, value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        fits = set(value) <= set(self.fields)
        for name, field in self.fields.items():
            if name in value:
                field.set_included(True)
                assert field.editor is not None
                fits = field.editor.set_value(value[name]) and fits
            else:
                fits = fits and not field.spec.required
                field.set_included(False)
        return fits

    def marks(self) -> Iterator[tuple[str, QWidget]]:
        yield self.path, self
        for field in self.fields.values():
            if field.included and field.editor is not None:
                if field.nested:
                    yield field.path, field.group
                    yield from (m for m in field.editor.marks() if m[0] != field.path)
                else:
                    yield from field.editor.marks()


class ArrayEditor(Editor):
    def __init__(self, spec: FieldSpec, path: str, on_change: OnChange) -> None:
        super().__init__(spec, path, on_change)
        assert spec.item is not None
        self.item_spec = spec.item
        self.items: list[tuple[QFrame, Editor, QToolButton]] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.rows = QVBoxLayout()
        layout.addLayout(self.rows)
        limits = f"at least {spec.min_items}" if spec.min_items else ""
        if spec.max_items is not None:
            limits += (", " if limits else "") + f"at most {spec.max_items}"
        self.add_button = QPushButton("+ Add item")
        self.add_button.setToolTip(f"Items: {limits}" if limits else "Add an item to the list")
        self.add_button.clicked.connect(self.add_item)
        layout.addWidget(self.add_button)
        for _ in range(spec.min_items):
            self._append()
        self._update_buttons()

    def _append(self) -> Editor:
        index = len(self.items)
        frame = QFrame()
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        # Item header above the item, not beside it: nested lists stay narrow.
        box = QVBoxLayout(frame)
        box.setContentsMargins(4, 2, 4, 4)
        box.setSpacing(2)
        header = QHBoxLayout()
        tag = QLabel(f"item [{index}]")
        tag.setObjectName("muted")
        editor = make_editor(self.item_spec, f"{self.path}[{index}]", self.on_change)
        remove = QToolButton()
        remove.setText("Remove")
        remove.setToolTip("Remove this item from the list")
        remove.clicked.connect(lambda: self.remove_item(self._index_of(frame)))
        header.addWidget(tag)
        header.addStretch(1)
        header.addWidget(remove)
        box.addLayout(header)
        box.addWidget(editor)
        self.rows.addWidget(frame)
        self.items.append((frame, editor, remove))
        return editor

    def _index_of(self, frame: QFrame) -> int:
        return next(i for i, item in enumerate(self.items) if item[0] is frame)

    def add_item(self) -> None:
        self._append()
        self._update_buttons()
        self.on_change()

    def remove_item(self, index: int) -> None:
        if len(self.items) <= self.spec.min_items:
            return
        values = [e.value() for _, e, _ in self.items]
        del values[index]
        self._show(values)
        self.on_change()

    def _show(self, values: list[Any]) -> bool:
        """Item paths carry their index: existing rows take the values in order (no rebuild,
        which matters while JSON is being typed), rows are added or dropped at the end."""
        while len(self.items) > len(values):
            frame, _, _ = self.items.pop()
            frame.setParent(None)
            frame.deleteLater()
        fits = True
        for index, item in enumerate(values):
            editor = self.items[index][1] if index < len(self.items) else self._append()
            fits = editor.set_value(item) and fits
        self._update_buttons()
        return fits

    def _update_buttons(self) -> None:
        count = len(self.items)
        full = self.spec.max_items is not None and count >= self.spec.max_items
        self.add_button.setEnabled(not full)
        for _, _, remove in self.items:
            remove.setEnabled(count > self.spec.min_items)

    def value(self) -> list[Any]:
        return [editor.value() for _, editor, _ in self.items]

    def set_value(self, value: Any) -> bool:
        if not isinstance(value, list):
            return False
        fits = self._show(value)
        return fits and self.spec.min_items <= len(value) <= (self.spec.max_items or len(value))

    def marks(self) -> Iterator[tuple[str, QWidget]]:
        yield self.path, self
        for _, editor, _ in self.items:
            yield from editor.marks()


_REQUIRED = re.compile(r"^[\"']([^\"']+)[\"'] is a required property")


class PayloadForm(QWidget):
    """The whole request: a root object editor plus problem marking at the fields."""

    def __init__(self, spec: FieldSpec, on_change: OnChange) -> None:
        super().__init__()
        self.spec = spec
        self._on_change = on_change
        self._quiet = True
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.setStyleSheet(FORM_STYLE)
        self.root = ObjectEditor(spec, "", self._changed)
        layout.addWidget(self.root)
        layout.addStretch(1)
        self._marked: dict[QWidget, str] = {}
        self._quiet = False

    def _changed(self) -> None:
        if not self._quiet:
            self._on_change()

    def value(self) -> dict[str, Any]:
        return self.root.value()

    def set_value(self, payload: Any) -> bool:
        """Show a payload without reporting changes; False if some of it cannot be shown."""
        self._quiet = True
        try:
            return self.root.set_value(payload)
        finally:
            self._quiet = False

    def widget_at(self, path: str) -> QWidget | None:
        return dict(self.root.marks()).get(path)

    def mark(self, problems: list[Problem]) -> dict[str, list[str]]:
        """Mark the field of every problem (or its nearest included parent); returns the marks."""
        for widget, tip in self._marked.items():
            _set_problem(widget, False)
            widget.setToolTip(tip)
        self._marked.clear()
        widgets = dict(self.root.marks())
        found: dict[str, list[str]] = {}
        for problem in problems:
            path = problem.path
            missing = _REQUIRED.match(problem.message)
            if missing:
                path = _child_path(path, missing.group(1))
            while path not in widgets and path:
                path = _LAST_STEP.sub("", path)
            found.setdefault(path, []).append(problem.message)
        for path, messages in found.items():
            widget = widgets[path]
            self._marked[widget] = widget.toolTip()
            _set_problem(widget, widget is not self.root)
            widget.setToolTip("\n".join(messages))
        return found


def _set_problem(widget: QWidget, on: bool) -> None:
    widget.setProperty("problem", on)
    _repolish(widget)


def _repolish(widget: QWidget) -> None:
    """Stylesheet rules on properties are matched at polish time only."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)
