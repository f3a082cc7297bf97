"""The built UI (``ui/dist``) with the single-page-app fallback: any path that is not
``/api`` or ``/daemon`` and not a file there answers ``index.html``, so that a reload of
``/live/orders`` works. Without a build, ``/`` says how to make one."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response

NO_BUILD = """<!doctype html><html><head><title>Execution Services console</title></head>
<body><h1>The UI is not built</h1>
<p>No <code>index.html</code> in <code>{ui_dir}</code>. Run <code>make ui</code> (or
<code>cd ui &amp;&amp; npm ci &amp;&amp; npm run build</code>) and reload.</p>
<p>The API works without it: <a href="/api/status">/api/status</a>.</p></body></html>"""

RESERVED = ("api", "daemon")


def mount_ui(app: FastAPI, ui_dir: Path) -> None:
    root = ui_dir.resolve()

    @app.get("/{path:path}", include_in_schema=False)
    async def ui(path: str) -> Response:
        if path.split("/", 1)[0] in RESERVED:
            raise HTTPException(404, detail=f"no route /{path}")
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(NO_BUILD.format(ui_dir=ui_dir), status_code=200)
        wanted = (root / path).resolve()
        if path and wanted.is_file() and root in wanted.parents:
            return FileResponse(wanted)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
