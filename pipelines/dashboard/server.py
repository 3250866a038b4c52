"""The dashboard's web server (aiohttp): the page and its libraries from the package, the events so far as JSON,
and every new one pushed to open pages with Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from aiohttp import web

from connectors.files import is_remote
from pipelines.dashboard.sources import FolderFollower, SubscriptionFollower
from pipelines.dashboard.store import BadMessage, EventStore, StoredRevision

STATIC = Path(__file__).parent / "static"
COUNTRIES = Path(__file__).parents[1] / "assets" / "countries-110m.json"
FOLDER_POLL = 0.5  # seconds between looks at a local folder's events files
REMOTE_POLL = 5.0  # ... and at a bucket's, where each look is a listing request
HEARTBEAT = 15.0  # an SSE comment this often keeps proxies and the browser from closing a quiet stream
CLIENT_BACKLOG = 10_000  # messages queued for one page; a page further behind is cut off and catches up on reconnect
STATUS_EVERY = 0.5  # at most this often a status message (bad messages, source errors) goes to the pages
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# The page loads only what this server serves: no CDN, no inline script, no request off this origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def sse(kind: str, data: Any, seq: int | None = None) -> bytes:
    """One Server-Sent Events message (JSON data holds no raw newline, so it is one `data:` line)."""
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


@dataclass
class Dashboard:
    """The store, what feeds it (`source`: "subscription" or "folder", and its name) and the open pages."""

    store: EventStore
    source_kind: str
    source_name: str
    source_error: str | None = None
    pages: set[asyncio.Queue] = field(default_factory=set)
    # Told to each page: a page that reconnects to a new server forgets the old one's events and ids.
    instance: str = field(default_factory=lambda: uuid.uuid4().hex)
    _status_due: bool = False

    def take(self, data: bytes) -> None:
        """One message from the source (on the event loop): stored and pushed, or counted as bad."""
        taken = self.store.add(data)
        if isinstance(taken, StoredRevision):
            self._push(sse("revision", taken.event, taken.seq))
        elif isinstance(taken, BadMessage):
            self._status_soon()

    def source_state(self, error: str | None) -> None:
        if error != self.source_error:
            self.source_error = error
            if error:
                print(f"sitrep dashboard: {self.source_kind} {self.source_name}: {error}", file=sys.stderr, flush=True)
            self._status_soon()

    def status(self) -> dict[str, Any]:
        return {**self.store.status(), "source": {"kind": self.source_kind, "name": self.source_name,
                                                 "error": self.source_error}}

    def _status_soon(self) -> None:
        if not self._status_due:
            self._status_due = True
            asyncio.get_running_loop().call_later(STATUS_EVERY, self._send_status)

    def _send_status(self) -> None:
        self._status_due = False
        self._push(sse("status", self.status()))

    def _push(self, message: bytes) -> None:
        for queue in list(self.pages):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                queue.get_nowait()  # room for the end marker: this page reconnects and catches up from its last id
                queue.put_nowait(None)
                self.pages.discard(queue)

    def close_pages(self) -> None:
        """End every open stream (at shutdown), so no handler is left waiting."""
        for queue in list(self.pages):
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(None)
        self.pages.clear()


DASHBOARD = web.AppKey("dashboard", Dashboard)


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def countries(request: web.Request) -> web.FileResponse:
    return web.FileResponse(COUNTRIES, headers={"Content-Type": "application/json"})


def country_codes() -> dict[str, dict[str, str]]:
    """ISO 3166-1 alpha-2 (what events carry) to numeric (the map's country ids) and a name to show."""
    import pycountry

    return {c.alpha_2: {"numeric": c.numeric, "name": getattr(c, "common_name", c.name)} for c in pycountry.countries}


async def country_names(request: web.Request) -> web.Response:
    return web.json_response(country_codes())


async def events(request: web.Request) -> web.Response:
    """Every event held at its latest revision, with the status (for scripts and tests)."""
    dashboard = request.app[DASHBOARD]
    return web.json_response({"events": dashboard.store.latest(), "status": dashboard.status()})


async def event_revisions(request: web.Request) -> web.Response:
    revisions = request.app[DASHBOARD].store.revisions(request.match_info["event_id"])
    if not revisions:
        raise web.HTTPNotFound(text="no such event held")
    return web.json_response({"revisions": revisions})


def _last_seen(request: web.Request) -> int:
    text = request.headers.get("Last-Event-ID") or request.query.get("since") or "0"
    try:
        return max(int(text), 0)
    except ValueError:
        return 0


async def stream(request: web.Request) -> web.StreamResponse:
    """The SSE stream: a hello, every revision held after the page's last id, the status, then live messages."""
    dashboard = request.app[DASHBOARD]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    # Queue and snapshot are taken together, with no await between: no revision is missed or sent twice.
    queue: asyncio.Queue = asyncio.Queue(maxsize=CLIENT_BACKLOG)
    dashboard.pages.add(queue)
    backlog = [sse("hello", {"instance": dashboard.instance, "max_events": dashboard.store.max_events})]
    backlog += [sse("revision", r.event, r.seq) for r in dashboard.store.since(_last_seen(request))]
    backlog.append(sse("status", dashboard.status()))
    try:
        for message in backlog:
            await response.write(message)
        while True:
            try:
                message = await asyncio.wait_for(queue.get(), HEARTBEAT)
            except TimeoutError:
                await response.write(b": still here\n\n")
                continue
            if message is None:
                break
            await response.write(message)
    except (ConnectionResetError, asyncio.CancelledError):
        pass  # the page went away, or the server is stopping
    finally:
        dashboard.pages.discard(queue)
    return response


def _guard(loopback: bool) -> Any:
    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        # Bound to loopback, answer only requests addressed to loopback: a web page elsewhere cannot reach
        # the dashboard through a DNS name it points at 127.0.0.1 (DNS rebinding).
        if loopback and (request.url.host or "").strip("[]") not in LOOPBACK_HOSTS:
            raise web.HTTPForbidden(text="the dashboard answers requests to 127.0.0.1 or localhost only")
        response = await handler(request)
        response.headers.update(SECURITY_HEADERS)
        return response
    return guard


def make_app(dashboard: Dashboard, loopback: bool = True) -> web.Application:
    app = web.Application(middlewares=[_guard(loopback)])
    app[DASHBOARD] = dashboard
    app.router.add_get("/", index)
    app.router.add_get("/events", stream)
    app.router.add_get("/api/events", events)
    app.router.add_get("/api/events/{event_id}", event_revisions)
    app.router.add_get("/api/countries", country_names)
    app.router.add_get("/data/countries-110m.json", countries)
    app.router.add_static("/static/", STATIC, show_index=False, follow_symlinks=False)
    return app


async def _follow_folder(dashboard: Dashboard, follower: FolderFollower) -> None:
    every = REMOTE_POLL if is_remote(follower.folder) else FOLDER_POLL
    while True:
        try:
            lines = await asyncio.to_thread(follower.poll)
        except OSError as exc:  # the folder went away or a file could not be read: shown, tried again
            dashboard.source_state(f"{type(exc).__name__}: {exc}")
        else:
            dashboard.source_state(None)
            for line in lines:
                dashboard.take(line)
        await asyncio.sleep(every)


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


async def serve(host: str, port: int, subscription: str | None = None, folder: str | None = None,
                max_events: int | None = None, out: TextIO = sys.stdout) -> int:
    """Serve the dashboard until SIGINT or SIGTERM, following a subscription or a folder; 0 once stopped."""
    store = EventStore(max_events) if max_events else EventStore()
    kind, name = ("subscription", subscription) if subscription else ("folder", folder)
    dashboard = Dashboard(store, kind, name)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    def from_thread(call: Any) -> Any:
        def hand_over(value: Any) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(call, value)
        return hand_over

    runner = web.AppRunner(make_app(dashboard, loopback=host in LOOPBACK_HOSTS), shutdown_timeout=2.0,
                           access_log=None)
    await runner.setup()
    follower: SubscriptionFollower | None = None
    folder_task: asyncio.Task | None = None
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        if subscription:
            follower = SubscriptionFollower(subscription, from_thread(dashboard.take),
                                            from_thread(dashboard.source_state))
            follower.start()
        else:
            folder_task = asyncio.create_task(_follow_folder(dashboard, FolderFollower(folder)))
        print(f"sitrep dashboard: serving {_url(host, bound[1])} (following {kind} {name}; Ctrl-C stops)",
              file=out, flush=True)
        await stop.wait()
    finally:
        if follower is not None:
            await asyncio.to_thread(follower.stop)
        if folder_task is not None:
            folder_task.cancel()
        dashboard.close_pages()
        await runner.cleanup()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    status = store.status()
    print(f"sitrep dashboard: stopped ({_count(status['events'], 'event')}, {_count(status['revisions'], 'revision')}, "
          f"{_count(status['bad'], 'bad message')} seen)", file=out, flush=True)
    return 0
