"""The device-model browser: a station's components and variables, values editable in place.

The tree is grouped the way a charger is built: the station's own components first, then one
group per EVSE holding its components and its connectors'. Each attribute of a variable is a
row (Actual, Target, MinSet, MaxSet). An edit goes through `DeviceModel.set_variables` with
an OCPP SetVariables payload, so it meets exactly the checks and gets exactly the statuses a
CSMS would (Accepted, Rejected with its reason, RebootRequired); the outcome is shown on the
row. WriteOnly values (passwords, keys) are never displayed.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QBrush, QColor, QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.station.device_model import DataType, Mutability, VariableDefinition
from app.station.station import Station
from ui import theme

COLUMNS = ("Variable", "Attribute", "Value", "Mutability", "Unit / limits", "Last change")
COL_VARIABLE, COL_ATTRIBUTE, COL_VALUE, COL_MUTABILITY, COL_LIMITS, COL_RESULT = range(len(COLUMNS))
MASK = "••••"

DefinitionRole = Qt.ItemDataRole.UserRole + 1
AttributeIndexRole = Qt.ItemDataRole.UserRole + 2
AnyIndex = QModelIndex | QPersistentModelIndex

_RESULT_TEXT = {
    "Accepted": "✓ Accepted",
    "RebootRequired": "↻ RebootRequired: stored, takes effect after a reboot",
}


def _number(value: float) -> str:
    return f"{value:g}"


def limits_text(definition: VariableDefinition) -> str:
    """'integer · s · ≥ 1', 'OptionList: A, B', 'string · ≤ 40 chars'."""
    ch = definition.characteristics
    parts = [ch.data_type.value]
    if ch.unit:
        parts.append(ch.unit)
    is_text = ch.data_type in (DataType.STRING,) or ch.values_list is not None
    lo, hi = ch.min_limit, ch.max_limit
    if is_text:
        if hi is not None:
            parts.append(f"≤ {_number(hi)} chars")
    elif lo is not None and hi is not None:
        parts.append(f"{_number(lo)} … {_number(hi)}")
    elif lo is not None:
        parts.append(f"≥ {_number(lo)}")
    elif hi is not None:
        parts.append(f"≤ {_number(hi)}")
    text = " · ".join(parts)
    if ch.values_list:
        text += ": " + ", ".join(ch.values_list)
    return text


def component_label(definition: VariableDefinition) -> str:
    c = definition.component
    text = c.name if c.instance is None else f"{c.name}[{c.instance}]"
    if c.connector_id is not None:
        text = (
            f"Connector {c.connector_id}" if text == "Connector" else f"{text} · connector {c.connector_id}"
        )
    return text


def group_label(definition: VariableDefinition) -> tuple[int, str]:
    evse = definition.component.evse_id
    return (0, "Charging station") if evse is None else (evse, f"EVSE {evse}")


def _readonly_item(text: str = "") -> QStandardItem:
    item = QStandardItem(text)
    item.setEditable(False)
    return item


class DeviceModelItemModel(QStandardItemModel):
    """Groups → components → one row per variable attribute; edits go through set_variables."""

    def __init__(self, station: Station, parent: Any = None) -> None:
        super().__init__(parent)
        self.station = station
        self._rows: list[tuple[QStandardItem, VariableDefinition, int]] = []
        self._dm: object = None
        self.rebuild()

    @property
    def variable_count(self) -> int:
        return len(self.station.dm.definitions())

    def rebuild(self) -> None:
        dm = self.station.dm
        self._dm = dm
        self.clear()
        self._rows = []
        self.setHorizontalHeaderLabels(list(COLUMNS))
        groups: dict[int, QStandardItem] = {}
        components: dict[tuple[int, str], QStandardItem] = {}
        bold = QFont()
        bold.setBold(True)
        definitions = sorted(
            dm.definitions(),
            key=lambda d: (
                group_label(d)[0],
                d.component.connector_id or 0,
                d.component.name.casefold(),
                (d.component.instance or "").casefold(),
                d.variable.name.casefold(),
                (d.variable.instance or "").casefold(),
            ),
        )
        for definition in definitions:
            order, title = group_label(definition)
            group = groups.get(order)
            if group is None:
                group = _readonly_item(title)
                group.setFont(bold)
                groups[order] = group
                self.appendRow([group, *(_readonly_item() for _ in COLUMNS[1:])])
            key = (order, str(definition.component))
            component = components.get(key)
            if component is None:
                component = _readonly_item(component_label(definition))
                component.setFont(bold)
                component.setToolTip(str(definition.component))
                components[key] = component
                group.appendRow([component, *(_readonly_item() for _ in COLUMNS[1:])])
            attributes = dm.attributes(definition.component, definition.variable)
            for index, attribute in enumerate(attributes):
                name = _readonly_item(str(definition.variable))
                name.setData(definition, DefinitionRole)
                name.setData(index, AttributeIndexRole)
                tip = definition.label
                if definition.reboot_required:
                    tip += "\nChanging it requires a reboot (SetVariables answers RebootRequired)."
                name.setToolTip(tip)
                value = QStandardItem()
                value.setData(definition, DefinitionRole)
                value.setData(index, AttributeIndexRole)
                mutability = attribute.mutability
                value.setEditable(mutability is not Mutability.READ_ONLY and not attribute.constant)
                self._show_value(value, attribute.value, mutability)
                mut = _readonly_item(mutability.value)
                if mutability is Mutability.READ_ONLY:
                    mut.setForeground(QBrush(theme.MUTED))
                limits = _readonly_item(limits_text(definition))
                limits.setToolTip(limits.text())
                result = _readonly_item()
                result.setData(definition, DefinitionRole)
                component.appendRow([name, _readonly_item(attribute.type.value), value, mut, limits, result])
                self._rows.append((value, definition, index))

    def _show_value(self, item: QStandardItem, value: str | None, mutability: Mutability) -> None:
        if mutability is Mutability.WRITE_ONLY:
            text = MASK
            item.setToolTip("Write-only: the value is never shown (double-click to set a new one)")
        else:
            text = "" if value is None else value
            item.setToolTip(text if len(text) > 30 else "")
        if item.text() != text:
            item.setText(text)

    def refresh_values(self) -> None:
        """Re-read every value (the CSMS may have changed some; clocks tick)."""
        dm = self.station.dm
        if dm is not self._dm:
            self.rebuild()
            return
        for item, definition, index in self._rows:
            attribute = dm.attributes(definition.component, definition.variable)[index]
            self._show_value(item, attribute.value, attribute.mutability)

    # ------------------------------------------------------------------ lookup

    def find_row(self, component: str, variable: str, *, evse: int | None = None) -> QModelIndex:
        """Index of the Value cell of a variable's first attribute (tests, 'go to')."""
        for item, definition, index in self._rows:
            if (
                index == 0
                and definition.component.name.casefold() == component.casefold()
                and definition.variable.name.casefold() == variable.casefold()
                and definition.component.evse_id == evse
            ):
                return item.index()
        return QModelIndex()

    def result_of(self, index: AnyIndex) -> str:
        return self.sibling(index.row(), COL_RESULT, index).data() or ""

    # ------------------------------------------------------------------ edits

    def setData(self, index: AnyIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role == Qt.ItemDataRole.EditRole and index.column() == COL_VALUE:
            definition = index.data(DefinitionRole)
            if isinstance(definition, VariableDefinition):
                status = self.apply(index, "" if value is None else str(value))
                return status in ("Accepted", "RebootRequired")
        return super().setData(index, value, role)

    def apply(self, index: AnyIndex, text: str) -> str:
        """SetVariables for the attribute at `index`; shows and returns the status."""
        definition = index.data(DefinitionRole)
        attribute_index = index.data(AttributeIndexRole)
        assert isinstance(definition, VariableDefinition) and isinstance(attribute_index, int)
        attribute = definition.attributes[attribute_index]
        request = {
            "setVariableData": [
                {
                    "attributeType": attribute.type.value,
                    "attributeValue": text,
                    "component": definition.component.to_ocpp(),
                    "variable": definition.variable.to_ocpp(),
                }
            ]
        }
        try:
            response = self.station.dm.set_variables(request)
            result = response["setVariableResult"][0]
            status = str(result.get("attributeStatus", "?"))
            info = result.get("attributeStatusInfo") or {}
        except Exception as exc:  # TooManyItems and the like: show, never crash the window
            status, info = "Rejected", {"reasonCode": type(exc).__name__, "additionalInfo": str(exc)}
        if status in _RESULT_TEXT:
            text_out = _RESULT_TEXT[status]
        else:
            reason = info.get("reasonCode", "")
            detail = info.get("additionalInfo", "")
            text_out = f"✗ {status}" + (f" · {reason}" if reason else "") + (f": {detail}" if detail else "")
        result_item = self.itemFromIndex(self.sibling(index.row(), COL_RESULT, index))
        if result_item is not None:
            result_item.setText(text_out)
            result_item.setToolTip(text_out)
            result_item.setForeground(QBrush(QColor(theme.SET_STATUS_COLOURS.get(status, "#c62828"))))
        value_item = self.itemFromIndex(self.sibling(index.row(), COL_VALUE, index))
        if value_item is not None:
            current = self.station.dm.attributes(definition.component, definition.variable)[attribute_index]
            self._show_value(value_item, current.value, current.mutability)
        return status


class ValueDelegate(QStyledItemDelegate):
    """Editors that fit the data type: a list for booleans and option lists, a masked field for
    write-only values, a line edit otherwise."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: AnyIndex) -> QWidget:
        definition = index.data(DefinitionRole)
        if not isinstance(definition, VariableDefinition):
            return super().createEditor(parent, option, index)
        ch = definition.characteristics
        attribute = definition.attributes[int(index.data(AttributeIndexRole) or 0)]
        if ch.data_type is DataType.BOOLEAN:
            combo = QComboBox(parent)
            combo.addItems(["true", "false"])
            return combo
        if ch.data_type is DataType.OPTION_LIST and ch.values_list:
            combo = QComboBox(parent)
            combo.addItems(list(ch.values_list))
            return combo
        editor = QLineEdit(parent)
        if attribute.mutability is Mutability.WRITE_ONLY:
            editor.setEchoMode(QLineEdit.EchoMode.Password)
            editor.setPlaceholderText("new value")
        return editor

    def setEditorData(self, editor: QWidget, index: AnyIndex) -> None:
        text = str(index.data() or "")
        if isinstance(editor, QComboBox):
            editor.setCurrentIndex(max(0, editor.findText(text, Qt.MatchFlag.MatchFixedString)))
        elif isinstance(editor, QLineEdit):
            editor.setText("" if text == MASK else text)
            editor.selectAll()

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: AnyIndex) -> None:
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentText())
        elif isinstance(editor, QLineEdit):
            if editor.echoMode() is QLineEdit.EchoMode.Password and not editor.text():
                return  # nothing typed: keep the secret as it is
            model.setData(index, editor.text())


class DeviceModelView(QWidget):
    """Filter field, tree, a line saying what happened last."""

    def __init__(self, station: Station, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.station = station
        self.model = DeviceModelItemModel(station, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setRecursiveFilteringEnabled(True)
        self.proxy.setAutoAcceptChildRows(True)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        bar = QHBoxLayout()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter components, variables, values (e.g. Heartbeat, TxCtrlr)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.set_filter)
        self.count = QLabel()
        self.count.setObjectName("muted")
        bar.addWidget(self.filter, 1)
        bar.addWidget(self.count)
        layout.addLayout(bar)

        hint = QLabel(
            "Double-click a value to change it. Edits follow the SetVariables rules: the same "
            "checks and statuses a CSMS gets. Read-only values cannot be changed; write-only "
            f"values are shown as {MASK}."
        )
        hint.setObjectName("muted")
        hint.setWordWrap(True)
        layout.addWidget(hint)

        self.tree = QTreeView()
        self.tree.setModel(self.proxy)
        self.tree.setItemDelegateForColumn(COL_VALUE, ValueDelegate(self.tree))
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in (
            (COL_VARIABLE, 330),
            (COL_ATTRIBUTE, 80),
            (COL_VALUE, 170),
            (COL_MUTABILITY, 96),
            (COL_LIMITS, 180),
        ):
            header.resizeSection(col, width)
        self.tree.doubleClicked.connect(self._on_double_click)
        layout.addWidget(self.tree, 1)

        self.message = QLabel(" ")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.model.dataChanged.connect(self._on_model_changed)
        self._expand_default()
        self._update_count()

        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def refresh(self) -> None:
        if self.isVisible():
            before = self.model._dm
            self.model.refresh_values()
            if self.model._dm is not before:
                self._expand_default()

    def set_filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        if text.strip():
            self.tree.expandAll()
        else:
            self._expand_default()
        self._update_count()

    def _expand_default(self) -> None:
        self.tree.collapseAll()
        for row in range(self.proxy.rowCount()):
            self.tree.expand(self.proxy.index(row, 0))

    def _update_count(self) -> None:
        self.count.setText(f"{self.model.variable_count} variables")

    def source_index(self, component: str, variable: str, *, evse: int | None = None) -> QModelIndex:
        return self.model.find_row(component, variable, evse=evse)

    def view_index(self, component: str, variable: str, *, evse: int | None = None) -> QModelIndex:
        return self.proxy.mapFromSource(self.source_index(component, variable, evse=evse))

    def _on_double_click(self, proxy_index: QModelIndex) -> None:
        index = self.proxy.mapToSource(proxy_index)
        if not isinstance(index.data(DefinitionRole), VariableDefinition):
            return
        value = self.model.index(index.row(), COL_VALUE, index.parent())
        if not (self.model.flags(value) & Qt.ItemFlag.ItemIsEditable):
            # Let the device model say why, as it would to a CSMS.
            self.model.apply(value, str(value.data() or ""))

    def _on_model_changed(self, top_left: QModelIndex, _bottom_right: QModelIndex, *_: Any) -> None:
        if top_left.column() != COL_RESULT:
            return
        definition = top_left.data(DefinitionRole)
        text = str(top_left.data() or "")
        if isinstance(definition, VariableDefinition) and text:
            colour = theme.INVALID.name() if text.startswith("✗") else "#1e7a3c"
            if text.startswith("↻"):
                colour = theme.NOTE.name()
            self.message.setText(f"<span style='color:{colour}'><b>{definition.label}</b>: {text}</span>")


class DeviceModelDialog(QDialog):
    """The browser in its own window, one per station; not modal, so the station stays usable."""

    def __init__(self, station: Station, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Device model · {station.station_id}")
        self.setStyleSheet(theme.STYLESHEET)
        self.setModal(False)
        self.resize(1180, 720)
        layout = QVBoxLayout(self)
        self.view = DeviceModelView(station, self)
        layout.addWidget(self.view)
