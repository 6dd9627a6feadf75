"""Scenarios in the window: pick one, run it step by step, record a new one.

The page lists the steps with their outcome as they run (a failed step says why, in words), and
offers Run / Pause / Step / Stop. The scenario's stations join the window's session, so the
station cards, the inspector and the plot follow along while it runs. Captions are shown in a
large overlay across the whole window, readable from the back of a room. Record turns what the
tester then clicks into a scenario file.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.clock import AcceleratedClock
from app.scenarios.loader import ScenarioError, library, load_scenario
from app.scenarios.model import Scenario
from app.scenarios.recorder import Recorder
from app.scenarios.runner import RunResult, ScenarioRunner, StepResult, StepStatus
from app.session import Session
from app.station.station import Station
from ui.tasks import TaskRunner

# Step status -> (mark, colour); colours as in ui/theme (green ready, blue busy, red broken).
_MARKS: dict[StepStatus, tuple[str, str]] = {
    StepStatus.PENDING: ("·", "#8a8f98"),
    StepStatus.RUNNING: ("▶", "#0a84ff"),
    StepStatus.PASSED: ("✓", "#1e9e4a"),
    StepStatus.FAILED: ("✗", "#d13438"),
    StepStatus.SKIPPED: ("–", "#8a8f98"),
}
CAPTION_POINT_SIZE = 34


class CaptionOverlay(QLabel):
    """A caption across the bottom of the host window, large white on dark, above everything."""

    def __init__(self, host: QWidget) -> None:
        super().__init__(host)
        self.host = host
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # In the stylesheet: the window's own stylesheet would win over setFont().
        self.setStyleSheet(
            "background: rgba(20, 24, 31, 225); color: white; border-radius: 14px; padding: 18px;"
            f"font-size: {CAPTION_POINT_SIZE}pt; font-weight: bold;"
        )
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.hide()
        host.installEventFilter(self)

    def show_caption(self, text: str) -> None:
        self.setText(text)
        self._place()
        self.show()
        self.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.host and event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return False

    def _place(self) -> None:
        width = int(self.host.width() * 0.8)
        self.setFixedWidth(max(200, width))
        self.adjustSize()
        x = (self.host.width() - self.width()) // 2
        y = self.host.height() - self.height() - 48
        self.move(x, max(0, y))


class ScenarioPage(QWidget):
    #: A scenario put this station on stage: the window selects it so the plot follows.
    stationFocused = Signal(object)

    def __init__(
        self,
        session: Session,
        runner: TaskRunner,
        caption_host: QWidget | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.tasks = runner
        self.scenario: Scenario | None = None
        self.run: ScenarioRunner | None = None
        self.last_result: RunResult | None = None
        self.recorder: Recorder | None = None
        self.overlay = CaptionOverlay(caption_host or self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Scenario"))
        self.picker = QComboBox()
        self.picker.setMinimumWidth(320)
        for path in library():
            self.picker.addItem(path.stem, str(path))
        self.picker.currentIndexChanged.connect(lambda _: self.load(self.picker.currentData()))
        pick.addWidget(self.picker, 1)
        self.open_button = QPushButton("Open file…")
        self.open_button.clicked.connect(self._choose_file)
        pick.addWidget(self.open_button)
        layout.addLayout(pick)

        self.title = QLabel()
        title_font = QFont(self.font())
        title_font.setPointSize(title_font.pointSize() + 5)
        title_font.setBold(True)
        self.title.setFont(title_font)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setStyleSheet("color: #5b6270;")
        layout.addWidget(self.title)
        layout.addWidget(self.description)

        controls = QHBoxLayout()
        self.run_button = QPushButton("▶  Run")
        self.run_button.setToolTip("Run the scenario; its stations appear on the left and in the inspector")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause before the next step (Resume continues)")
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Run one step, then pause")
        self.stop_button = QPushButton("■  Stop")
        self.record_button = QPushButton("●  Record")
        self.record_button.setToolTip(
            "Record what you do with the stations (plug, tap, network, faults, console calls) "
            "into a scenario file"
        )
        self.cleanup_button = QPushButton("Remove its stations")
        self.cleanup_button.setToolTip(
            "Take the stations this scenario added out of the window (they stay after a run, to be\n"
            "looked at; otherwise they are kept in the workspace like any other station)"
        )
        for button in (self.run_button, self.pause_button, self.step_button, self.stop_button):
            controls.addWidget(button)
        controls.addWidget(self.cleanup_button)
        controls.addStretch(1)
        self.speed_label = QLabel()
        self.speed_label.setStyleSheet("color: #5b6270;")
        self.speed_label.setWordWrap(True)  # a long hint wraps instead of widening the window
        self.speed_label.setMinimumWidth(120)
        controls.addWidget(self.speed_label)
        controls.addWidget(self.record_button)
        layout.addLayout(controls)
        self.run_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.step_button.clicked.connect(self.single_step)
        self.stop_button.clicked.connect(self.stop)
        self.cleanup_button.clicked.connect(
            lambda: self.tasks.run(self.remove_stations(), "Remove the scenario's stations")
        )
        self.record_button.clicked.connect(self.toggle_recording)

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        layout.addWidget(self.progress)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.verdict)

        self.steps = QTreeWidget()
        self.steps.setHeaderLabels(["", "#", "Step", "Outcome"])
        self.steps.setRootIsDecorated(False)
        self.steps.setUniformRowHeights(False)
        self.steps.setWordWrap(True)
        header = self.steps.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.steps.setColumnWidth(2, 470)
        layout.addWidget(self.steps, 1)

        if self.picker.count():
            self.load(self.picker.currentData())
        self._refresh_buttons()

    # ------------------------------------------------------------------ loading

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a scenario", "", "Scenarios (*.yaml *.yml)")
        if path:
            self.load(path)

    def load(self, path: str | Path) -> bool:
        if self.running:
            return False
        try:
            self.scenario = load_scenario(path)
        except ScenarioError as exc:
            self.scenario = None
            self.title.setText(Path(path).name)
            self.description.setText("")
            self._verdict(f"This file cannot run:\n{exc}", "#d13438")
            self.steps.clear()
            self._refresh_buttons()
            return False
        self.title.setText(self.scenario.name)
        self.description.setText(self.scenario.description)
        index = self.picker.findData(str(path))
        if index >= 0 and index != self.picker.currentIndex():
            self.picker.blockSignals(True)
            self.picker.setCurrentIndex(index)
            self.picker.blockSignals(False)
        self._verdict("", "")
        self._fill(None)
        self._refresh_buttons()
        return True

    def _fill(self, result: RunResult | None) -> None:
        self.steps.clear()
        assert self.scenario is not None
        for index, step in enumerate(self.scenario.steps, start=1):
            item = QTreeWidgetItem(["", str(index), step.describe(), ""])
            item.setToolTip(2, step.describe() + (f"\n(line {step.line} of the file)" if step.line else ""))
            self.steps.addTopLevelItem(item)
            self._paint(item, StepStatus.PENDING, "")
        total = len(self.scenario.steps)
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self.progress.setFormat(f"0 of {total} steps")

    def _paint(self, item: QTreeWidgetItem, status: StepStatus, reason: str) -> None:
        mark, colour = _MARKS[status]
        item.setText(0, mark)
        item.setForeground(0, QBrush(QColor(colour)))
        item.setText(3, reason if status is not StepStatus.PASSED or len(reason) < 90 else reason[:87] + "…")
        item.setToolTip(3, reason)
        if status is StepStatus.FAILED:
            item.setForeground(3, QBrush(QColor(colour)))
            item.setBackground(2, QBrush(QColor("#fdecea")))
        bold = QFont(self.steps.font())
        bold.setBold(status is StepStatus.RUNNING)
        item.setFont(2, bold)

    # ------------------------------------------------------------------ running

    @property
    def running(self) -> bool:
        return self.run is not None

    def start(self) -> None:
        if self.scenario is None or self.running:
            return
        self.load(self.scenario.path or "")
        assert self.scenario is not None
        run = ScenarioRunner(self.scenario, self.session)
        run.step_started.connect(self._on_step)
        run.step_finished.connect(self._on_step)
        run.caption_shown.connect(self.overlay.show_caption)
        run.paused_changed.connect(lambda _: self._refresh_buttons())
        self.session.station_added.connect(self._on_station_added)
        self.run = run
        self._verdict("Running…", "#0a84ff")
        self._refresh_buttons()
        self.tasks.run(self._run(run), f"Scenario {self.scenario.name}")

    async def _run(self, run: ScenarioRunner) -> None:
        try:
            result = await run.run()
        finally:
            self.session.station_added.disconnect(self._on_station_added)
            self.run = None
        self.last_result = result
        self.overlay.hide()
        if result.passed:
            self._verdict(f"✓ PASSED — {len(result.steps)} steps in {result.seconds:.1f} s", "#1e9e4a")
        else:
            self._verdict(f"✗ FAILED — {result.failure}", "#d13438")
        self._refresh_buttons()

    def _on_station_added(self, station: Station) -> None:
        if self.scenario is not None and station.station_id == self.scenario.stations[0].station_id:
            self.stationFocused.emit(station)

    def _on_step(self, result: StepResult) -> None:
        item = self.steps.topLevelItem(result.index - 1)
        if item is None:
            return
        self._paint(item, result.status, result.reason)
        if result.status is StepStatus.RUNNING:
            self.steps.scrollToItem(item)
        total = self.steps.topLevelItemCount()
        done = sum(1 for n in range(total) if self.steps.topLevelItem(n).text(0) in ("✓", "✗"))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} of {total} steps")

    def toggle_pause(self) -> None:
        if self.run is None:
            return
        if self.run.paused:
            self.run.resume()
        else:
            self.run.pause()
        self._refresh_buttons()

    def single_step(self) -> None:
        if self.run is None:
            self.start()
            if self.run is not None:
                self.run.pause()
        if self.run is not None:
            self.run.step_once()
        self._refresh_buttons()

    def stop(self) -> None:
        if self.run is not None:
            self.run.stop()

    def scenario_stations(self) -> list[str]:
        """The loaded scenario's stations that are in the window now."""
        if self.scenario is None:
            return []
        return [s.station_id for s in self.scenario.stations if s.station_id in self.session.stations]

    async def remove_stations(self) -> None:
        for station_id in self.scenario_stations():
            await self.session.remove_station(station_id)
        self._refresh_buttons()

    def _verdict(self, text: str, colour: str) -> None:
        self.verdict.setText(text)
        self.verdict.setStyleSheet(f"color: {colour}; font-weight: bold; font-size: 15px;")

    def _refresh_buttons(self) -> None:
        running = self.running
        paused = self.run.paused if self.run is not None else False
        self.run_button.setEnabled(self.scenario is not None and not running)
        self.pause_button.setEnabled(running)
        self.pause_button.setText("▶  Resume" if paused else "Pause")
        self.step_button.setEnabled(self.scenario is not None and (not running or paused))
        self.stop_button.setEnabled(running)
        self.cleanup_button.setEnabled(not running and bool(self.scenario_stations()))
        self.picker.setEnabled(not running)
        self.open_button.setEnabled(not running)
        clock = self.session.clock
        factor = clock.factor if isinstance(clock, AcceleratedClock) else 1.0
        wanted = self.scenario.speed if self.scenario is not None else None
        hint = ""
        if wanted and wanted != factor:
            hint = f"; the file asks for ×{wanted:g} (chargebench --speed {wanted:g})"
        self.speed_label.setText(f"time ×{factor:g} (the window's --speed){hint}")

    # ------------------------------------------------------------------ recording

    @property
    def recording(self) -> bool:
        return self.recorder is not None

    def toggle_recording(self) -> None:
        if self.recorder is None:
            self.recorder = Recorder(self.session)
            self.recorder.start()
            self.record_button.setText("■  Stop recording")
            self.record_button.setStyleSheet("color: #d13438; font-weight: bold;")
            self._verdict("Recording: use the stations on the left; every click becomes a step.", "#d13438")
            return
        recorder = self.stop_recording()
        path, _ = QFileDialog.getSaveFileName(self, "Save the recorded scenario", "recorded.yaml", "*.yaml")
        if not path:
            self._verdict("Recording discarded.", "#5b6270")
            return
        name, ok = QInputDialog.getText(self, "Scenario name", "Name:", text=Path(path).stem)
        self.save_recording(recorder, path, name if ok and name else Path(path).stem)

    def stop_recording(self) -> Recorder:
        recorder, self.recorder = self.recorder, None
        assert recorder is not None
        recorder.stop()
        self.record_button.setText("●  Record")
        self.record_button.setStyleSheet("")
        return recorder

    def save_recording(self, recorder: Recorder, path: str | Path, name: str) -> None:
        try:
            recorder.save(path, name)
        except OSError as exc:
            self._verdict(f"Cannot save {path}: {exc.strerror or exc}", "#d13438")
            return
        self._verdict(f"Recorded {len(recorder.steps)} steps to {path}", "#1e9e4a")
        self.load(path)
