"""``muscle-atlas serve``: serve a built site on 127.0.0.1 (for looking at it, not production)."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path
from typing import ClassVar

from muscle_atlas.errors import AtlasError


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".glb": "model/gltf-binary", ".mp4": "video/mp4", ".avif": "image/avif", ".js": "text/javascript",
        ".json": "application/json", ".svg": "image/svg+xml",
    }  # fmt: skip

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code == 404 and page.is_file():
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        super().send_error(code, message, explain)

    def log_message(self, format: str, *args: object) -> None:
        pass


def make_server(folder: str | Path, port: int = 8000) -> http.server.ThreadingHTTPServer:
    root = Path(folder)
    if not (root / "index.html").is_file():
        raise AtlasError("not a built atlas (no index.html)", root)
    handler = functools.partial(_Handler, directory=str(root))
    try:
        return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise AtlasError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror})") from exc


def run(folder: str, port: int) -> int:
    server = make_server(folder, port)
    print(f"serving {folder} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
