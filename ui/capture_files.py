"""Capture files in the window: open, save, import and export, with progress and clear errors.

A capture file is the inspector's SQLite database (`.capture`); JSON Lines (`.jsonl`) come in
by import and go out by export, secrets masked. The work runs in a worker thread — a million
frames take seconds — while a progress dialog counts; the window stays live meanwhile.
An opened capture gets a window of its own (`CaptureWindow`), so the live capture keeps
running beside it: compare a real charger's old capture with what it does now.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QWidget,
)

from app.inspector.capture_db import CaptureDb, Progress
from app.inspector.jsonl import CaptureFileError
from ui.inspector_model import InspectorModel
from ui.inspector_view import InspectorView
from ui.tasks import TaskRunner

T = TypeVar("T")

CAPTURE_FILTER = "ChargeBench captures (*.capture);;JSON Lines (*.jsonl);;All files (*)"
SAVE_FILTER = "ChargeBench capture (*.capture)"
JSONL_FILTER = "JSON Lines (*.jsonl)"


class Cancelled(Exception):
    """The user pressed Cancel in a progress dialog."""


async def run_with_progress(
    parent: QWidget | None, title: str, work: Callable[[Progress], T], *, cancellable: bool = True
) -> T:
    """Run `work(progress)` in a worker thread while a progress dialog shows how far it got.

    `progress(done, total)` may be called from the worker as often as it likes; Cancel makes the
    next call raise `Cancelled` in the worker, which the caller sees.
    """
    dialog = QProgressDialog(title, "Cancel" if cancellable else "", 0, 1000, parent)
    dialog.setWindowTitle("ChargeBench")
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(300)  # quick jobs finish without a flash of dialog
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    if not cancellable:
        dialog.setCancelButton(None)
    dialog.setValue(0)
    loop = asyncio.get_running_loop()
    cancel = threading.Event()
    dialog.canceled.connect(cancel.set)

    def show(done: int, total: int) -> None:
        if total > 0:
            dialog.setValue(min(1000, int(done * 1000 / total)))

    def progress(done: int, total: int) -> None:
        if cancel.is_set():
            raise Cancelled(title)
        loop.call_soon_threadsafe(show, done, total)

    try:
        return await loop.run_in_executor(None, work, progress)
    finally:
        dialog.close()
        dialog.deleteLater()


class CaptureWindow(QMainWindow):
    """A capture file, read-only, with the inspector's table, filters and detail pane."""

    closed = Signal(object)

    def __init__(self, db: CaptureDb, title: str, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.db = db
        self.model = InspectorModel(self, db=db, live=False)
        self.view = InspectorView(self.model)
        self.view.set_station_ids(db.stations())
        self.setCentralWidget(self.view)
        self.setWindowTitle(f"{title} — ChargeBench capture")
        self.resize(1100, 700)
        span = db.time_span()
        facts = f"{len(db):,} frames"
        if span is not None:
            first, last = span
            facts += f" · {first:%Y-%m-%d %H:%M:%S} → {last:%Y-%m-%d %H:%M:%S} UTC"
        self.facts = QLabel(facts)
        self.statusBar().addPermanentWidget(self.facts)
        menu = self.menuBar().addMenu("&File")
        # The same Save / Export as the main window, over this capture (opening is the main
        # window's: it keeps the list of capture windows).
        self.files = CaptureFiles(self, self.model, runner)
        self.files.install(menu, can_open=False)
        menu.addSeparator()
        close = menu.addAction("Close")
        close.setShortcut(QKeySequence.StandardKey.Close)
        close.triggered.connect(self.close)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.model.close()
        self.db.close()
        self.closed.emit(self)
        super().closeEvent(event)


def show_error(parent: QWidget | None, text: str) -> QMessageBox:
    """A readable, non-blocking error box (the event loop keeps running behind it)."""
    box = QMessageBox(QMessageBox.Icon.Warning, "ChargeBench", text, QMessageBox.StandardButton.Ok, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


async def open_capture(parent: QWidget | None, path: Path, runner: TaskRunner) -> CaptureWindow:
    """A window over a capture file; a JSON Lines file is imported into a fresh capture first.

    Raises CaptureFileError (naming the file, and the line for JSON Lines) when it is not one.
    """
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        db = CaptureDb()
        try:
            await run_with_progress(parent, f"Reading {path.name}…", lambda p: db.import_jsonl(path, p))
        except BaseException:
            db.close()
            raise
    else:
        db = await asyncio.get_running_loop().run_in_executor(None, CaptureDb.open, path)
    window = CaptureWindow(db, path.name, runner)
    window.show()
    return window


async def save_capture(parent: QWidget | None, model: InspectorModel, path: Path) -> Path:
    """The whole capture (every frame, whatever the filter) as a capture file."""
    if path.suffix == "":
        path = path.with_suffix(".capture")
    return await run_with_progress(
        parent, f"Saving {path.name}…", lambda p: model.db.save_as(path, p), cancellable=False
    )


async def export_jsonl(parent: QWidget | None, model: InspectorModel, path: Path) -> int:
    """The frames the filter shows, as JSON Lines (secrets masked); a cancelled export leaves no file."""
    flt = model.current_filter()
    try:
        return await run_with_progress(
            parent, f"Exporting {path.name}…", lambda p: model.db.export_jsonl(path, flt, p)
        )
    except Cancelled:
        path.unlink(missing_ok=True)
        raise


class CaptureFiles:
    """The File menu of the main window: what it opens, saves and exports, and their errors."""

    def __init__(self, window: QMainWindow, model: InspectorModel, runner: TaskRunner) -> None:
        self.window = window
        self.model = model
        self.runner = runner
        self.windows: list[CaptureWindow] = []
        self.last_error: QMessageBox | None = None
        self.last_message = ""

    def install(self, menu: Any, *, can_open: bool = True) -> None:
        if can_open:
            opened = menu.addAction("Open capture…")
            opened.setShortcut(QKeySequence.StandardKey.Open)
            opened.setToolTip("A ChargeBench capture (.capture) or JSON Lines (.jsonl), in a window")
            opened.triggered.connect(self.ask_open)
        save = menu.addAction("Save capture as…")
        save.setShortcut(QKeySequence.StandardKey.SaveAs)
        save.triggered.connect(self.ask_save)
        export = menu.addAction("Export shown frames as JSON Lines…")
        export.triggered.connect(self.ask_export)

    # --- menu slots (they ask for a file, then run the job) -----------------------------------

    def ask_open(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self.window, "Open capture", "", CAPTURE_FILTER)
        if name:
            self.runner.run(self.open(Path(name)), "Open capture")

    def ask_save(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self.window, "Save capture as", "", SAVE_FILTER)
        if name:
            self.runner.run(self.save(Path(name)), "Save capture")

    def ask_export(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self.window, "Export as JSON Lines", "", JSONL_FILTER)
        if name:
            self.runner.run(self.export(Path(name)), "Export")

    # --- the jobs -------------------------------------------------------------------------------

    async def open(self, path: Path) -> CaptureWindow | None:
        try:
            window = await open_capture(self.window, path, self.runner)
        except (CaptureFileError, OSError) as exc:
            self._fail(f"Could not open the capture.\n\n{exc}")
            return None
        except Cancelled:
            return None
        self.windows.append(window)
        window.closed.connect(self._forget)
        return window

    async def save(self, path: Path) -> Path | None:
        try:
            saved = await save_capture(self.window, self.model, path)
        except (CaptureFileError, OSError) as exc:
            self._fail(f"Could not save the capture.\n\n{exc}")
            return None
        self._say(f"Saved {self.model.total_count:,} frames to {saved}")
        return saved

    async def export(self, path: Path) -> int | None:
        try:
            count = await export_jsonl(self.window, self.model, path)
        except (CaptureFileError, OSError) as exc:
            self._fail(f"Could not export.\n\n{exc}")
            return None
        except Cancelled:
            self._say("Export cancelled")
            return None
        self._say(f"Exported {count:,} frames to {path} (passwords masked)")
        return count

    def _forget(self, window: CaptureWindow) -> None:
        if window in self.windows:
            self.windows.remove(window)

    def close_all(self) -> None:
        for window in list(self.windows):
            window.close()

    def _say(self, text: str) -> None:
        self.last_message = text
        self.window.statusBar().showMessage(text, 8000)

    def _fail(self, text: str) -> None:
        self.last_message = text
        self.last_error = show_error(self.window, text)
