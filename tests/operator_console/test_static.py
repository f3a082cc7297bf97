"""The built UI with its single-page-app fallback, and the page shown without a build."""

from __future__ import annotations


def test_without_a_build_the_root_says_to_run_make_ui(console, tmp_path) -> None:
    answer = console(ui_dir=tmp_path / "missing").get("/")
    assert answer.status_code == 200
    assert "make ui" in answer.text


def test_files_and_the_spa_fallback(console, tmp_path) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>the app</html>")
    (dist / "assets" / "app.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("outside the build")
    client = console(ui_dir=dist)

    assert client.get("/").text == "<html>the app</html>"
    assert client.get("/assets/app.js").text == "console.log(1)"
    # a client-side route reloaded in the browser gets the app
    assert client.get("/live/orders").text == "<html>the app</html>"
    assert client.get("/backtest/compare?runs=a,b").text == "<html>the app</html>"
    # nothing outside the build is served
    assert "outside" not in client.get("/../secret.txt").text
    # the API's namespaces never fall back to the app
    assert client.get("/api/nothing-here").status_code == 404
    assert client.get("/api/status").headers["content-type"] == "application/json"
