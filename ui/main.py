"""`chargebench gui`: the window, with the saved workspace or a station on the built-in CSMS.

If a workspace was saved (see ui/workspace.py; $CHARGEBENCH_WORKSPACE overrides where), its
stations, built-in CSMS and layout come back; otherwise one station (--id, --evses) starts on
the built-in CSMS or on --csms URL. The window is shown before anything starts, so it is on
screen at once; the asyncio part runs on Qt's event loop through qasync. Closing the window
saves the workspace and stops the session before the process exits, so the CSMS sees a clean
websocket close, not a reset.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from PySide6.QtWidgets import QApplication


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("ChargeBench")
    # qasync runs the loop through app.exec(): if Qt quit on its own when the window closes,
    # the loop would stop before the session is shut down.
    app.setQuitOnLastWindowClosed(False)

    import qasync

    from app.clock import AcceleratedClock, Clock
    from app.session import Session
    from ui import workspace
    from ui.main_window import MainWindow

    evses = int(getattr(args, "evses", 2) or 2)
    speed = float(getattr(args, "speed", 1.0) or 1.0)
    session = Session(clock=AcceleratedClock(speed) if speed != 1.0 else Clock())
    path = workspace.default_path()
    problem = ""
    try:
        saved = workspace.load(path)
    except workspace.WorkspaceError as exc:
        saved = None
        # Keep the unreadable file for inspection; the next save writes a fresh one.
        broken = path.with_name(path.name + ".broken")
        try:
            path.replace(broken)
            problem = f"Workspace unreadable ({exc}); kept as {broken.name}, started fresh."
        except OSError:
            problem = f"Workspace unreadable ({exc}); started fresh."
    window = MainWindow(session, evse_count=evses, workspace_path=path)
    window.show()
    if problem:
        window.statusBar().showMessage(problem, 15000)
    # Ctrl+C in the terminal closes the window the normal way (Qt would ignore it otherwise);
    # the handler runs on the next Python callback, and the bridge timers provide those.
    signal.signal(signal.SIGINT, lambda *_: window.close())

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(_run(window, args, evses, saved))
    finally:
        loop.close()
        asyncio.set_event_loop(None)


async def _run(window: object, args: argparse.Namespace, evses: int, saved: object) -> int:
    from ui.main_window import MainWindow
    from ui.workspace import Workspace

    assert isinstance(window, MainWindow)
    closed = asyncio.get_running_loop().create_future()
    window.closed.connect(lambda: closed.done() or closed.set_result(None))
    try:
        if isinstance(saved, Workspace):
            await window.restore(saved)
        else:
            # --id, --evses and --csms shape the first start only; after that the workspace rules.
            await window.start(
                csms_url=getattr(args, "csms", None),
                station_id=getattr(args, "id", "CB-0001") or "CB-0001",
                evse_count=evses,
            )
            window.save_workspace()
        await closed
        return 0
    except Exception as exc:
        logging.getLogger(__name__).exception("the window failed")
        print(f"chargebench: {exc}", file=sys.stderr)
        return 1
    finally:
        await window.shutdown()


if __name__ == "__main__":
    ns = argparse.Namespace(evses=2, csms=None, id="CB-0001", verbose=False, speed=1.0)
    raise SystemExit(main(ns))
