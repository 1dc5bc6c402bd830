"""The HTML report: exact highlights and numbers, self-contained, deterministic, and rendered
by a real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from contam.charts import rates_chart
from contam.config import ScanConfig
from contam.excerpts import DocRequest, document_texts, read_lines
from contam.highlight import excerpt_html
from contam.html import write_html
from contam.results import ScanReport
from contam.scan import resolve_benches, scan
from examples.html_report import find_chromium, headless_command
from tests.conftest import REPO, TINY_ITEMS, TINY_NGRAM, shared_data, write_jsonl

try:
    import matplotlib  # noqa: F401
except ImportError:
    if os.environ.get("CI"):
        raise  # CI installs the html extra
    pytest.skip("the HTML report needs pip install 'contam[html]'", allow_module_level=True)

D1 = "Yesterday THE QUICK, brown fox jumps! over a lazy dog. <script>alert(1)</script>"
D2 = "capital of\nPERU -- lima"
D3 = "She asked: what is the sum of seven?"
ZH = "子曰：「学而时习之，不亦说乎？有朋自远方来，不亦乐乎？」"
#: The tiny bench plus one Chinese item: 15 characters, each a token, and a 4-token answer.
LUNYU = {"id": "lunyu", "text": "学而时习之不亦说乎有朋自远方来", "answer": "不亦乐乎"}


def tiny_scan(root: Path, docs: bool = True) -> ScanReport:
    bench = write_jsonl(root / "tiny.jsonl", [*TINY_ITEMS, LUNYU])
    if docs:
        write_jsonl(
            root / "corpus" / "a.jsonl", [{"id": "d1<b>", "text": D1}, {"id": "d2", "text": D2}]
        )
        write_jsonl(
            root / "corpus" / "b.jsonl", [{"id": "d3", "text": D3}, {"id": "zh", "text": ZH}]
        )
    else:
        write_jsonl(root / "corpus" / "a.jsonl", [{"id": "x", "text": "nothing to see here"}])
    config = ScanConfig(ngram=TINY_NGRAM, index_dir=root / "indexes", quiet=True)
    sources = resolve_benches([str(bench)], config, label_fields=("answer",))
    scan(str(root / "corpus"), sources, root / "out", config)
    return ScanReport.open(root / "out")


@pytest.fixture
def tiny_report(tmp_path: Path) -> ScanReport:
    return tiny_scan(tmp_path)


def excerpts(page: str) -> list[str]:
    return re.findall(r'<div class="excerpt" lang="und">(.*?)</div>', page, re.S)


def test_highlights_and_numbers(tiny_report: ScanReport, tmp_path: Path) -> None:
    page = write_html(tiny_report, tmp_path / "r.html").read_text(encoding="utf-8")
    # Items by input coverage, then documents, then id: fox, lunyu, peru (1.0), sum (6/8).
    # Each document is shorter than the context, so it is shown whole, escaped.
    assert excerpts(page) == [
        "Yesterday <mark>THE QUICK, brown fox jumps! over a lazy dog</mark>. "
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "子曰：「<mark>学而时习之，不亦说乎？有朋自远方来，不亦乐乎</mark>？」",
        "<mark>capital of\nPERU -- lima</mark>",
        "She asked: <mark>what is the sum of seven</mark>?",
    ]
    assert "document <code>d1&lt;b&gt;</code>" in page
    # 8 items; contam: fox, sum (question only), peru, lunyu (with answer). gpt3 and palm:
    # peru (3 tokens, found whole) and lunyu; llama2 needs a 10-token span: lunyu (19);
    # gpt4 none (lunyu's 15-character input is below its 16-character minimum).
    row = re.search(r"<tr><td>tiny</td><td>custom</td>.*?</tr>", page)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(0))
    assert cells == ["tiny", "custom", "8", "4", "50.00%", "2", "2", "4", "2", "2", "1", "0"]
    assert '<div class="n">4<span class="of"> of 8</span></div>' in page
    fox = re.search(r"<h3>fox</h3><dl>(.*?)</dl>", page)
    assert fox is not None
    assert re.findall(r"<dd>(.*?)</dd>", fox.group(1)) == [
        "tiny · custom",
        "—",
        "question",
        "1.000",
        "0.000",
        "9 tokens, 1 edit",
        "1",
    ]
    assert "4 contaminated items under the <b>contam</b> definition" in page
    # the overlap chart: 4 items with a span, all at or above 0.5
    assert "tiny · custom: 4 items with a span, 4 at or above 0.5" in page


def test_rates_chart_labels_each_bench_and_definition() -> None:
    rows = [
        {"bench": b, "split": "test", "preset": p, "contaminated_fraction": f, "contaminated": n}
        for b, p, f, n in [("a", "gpt3", 0.5, 2), ("a", "palm", 0.25, 1), ("b", "gpt3", 0.1, 3)]
    ]
    svg = rates_chart([("a", "test"), ("b", "test")], rows, "gpt3")
    labels = re.findall(r">([^<>]*)</text>", svg)
    bars = labels[labels.index("b · test") + 1 : labels.index("contam")]
    # per definition (contam, gpt3, palm, llama2, gpt4), bench a then b; none reads 0
    assert bars == ["0", "0", "2  (50.00%)", "3  (10.00%)", "1  (25.00%)", "0", "0", "0", "0", "0"]


def test_self_contained_and_escaped(tiny_report: ScanReport, tmp_path: Path) -> None:
    page = write_html(tiny_report, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert " src=" not in page
    links = re.findall(r'href="([^"]*)"', page)
    assert links and all(link.startswith("#") for link in links)
    assert not re.search(r"url\((?!#)", page)
    assert page.count("<svg ") == 2  # rates, overlap (the tiny bench has no groups)


def test_same_bytes_every_time(tiny_report: ScanReport, tmp_path: Path) -> None:
    first = write_html(tiny_report, tmp_path / "1.html").read_bytes()
    assert write_html(tiny_report, tmp_path / "2.html").read_bytes() == first
    # another process, with another hash seed
    code = (
        "import sys; from pathlib import Path; from contam.html import write_html; "
        "from contam.results import ScanReport; "
        "write_html(ScanReport.open(sys.argv[1]), Path(sys.argv[2]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    out = tmp_path / "3.html"
    subprocess.run(
        [sys.executable, "-c", code, str(tiny_report.folder), str(out)],
        check=True,
        env=env,
        cwd=REPO,
    )
    assert out.read_bytes() == first


def test_missing_shard_is_noted(tiny_report: ScanReport, tmp_path: Path) -> None:
    (tmp_path / "corpus" / "a.jsonl").rename(tmp_path / "a.jsonl")
    page = write_html(tiny_report, tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count("corpus text not available here") == 2  # fox and peru, both in a.jsonl
    assert "character offsets 10–53" in page  # fox's span, still named
    assert excerpts(page) == [
        "子曰：「<mark>学而时习之，不亦说乎？有朋自远方来，不亦乐乎</mark>？」",
        "She asked: <mark>what is the sum of seven</mark>?",
    ]


def test_changed_shard_gives_no_text(tiny_report: ScanReport, tmp_path: Path) -> None:
    run = tiny_report.run
    b = str(tmp_path / "corpus" / "b.jsonl")
    texts = document_texts(run, [DocRequest(b, 2, "zh"), DocRequest(b, 1, "d3")])
    assert texts == {(b, 2): ZH, (b, 1): D3}
    assert document_texts(run, [DocRequest(b, 2, "other")]) == {(b, 2): None}
    assert document_texts(run, [DocRequest("elsewhere.jsonl", 1, "d3")]) == {
        ("elsewhere.jsonl", 1): None
    }
    # the same records with one more byte: not the file the offsets were taken from
    with open(b, "a") as f:
        f.write("\n")
    assert document_texts(run, [DocRequest(b, 2, "zh")]) == {(b, 2): None}
    assert read_lines(Path(b), [2]) == {2: ("zh", ZH)}


def test_empty_report_says_so(tmp_path: Path) -> None:
    report = tiny_scan(tmp_path, docs=False)
    page = write_html(report, tmp_path / "r.html").read_text(encoding="utf-8")
    assert (
        "No contaminated items: under the <b>contam</b> definition (one document's aligned "
        "spans cover at least 0.5 of the item's distinctive tokens), none of the 8 benchmark "
        "items occurs in the corpus." in page
    )
    assert "No item shares an aligned span with the corpus." in page
    assert "<mark>" not in page and page.count("<svg ") == 1


def test_excerpt_windows_marks_and_escaping() -> None:
    text = "0123456789<b>abcdefghij" + "x" * 40 + "KLMNOP&tail"
    # two overlapping spans merge; the one starting in the answer alone is class="label"
    spans = [(10, 14, True), (12, 16, False), (63, 69, False)]
    assert excerpt_html(text, spans, context=3) == (
        "…789<mark>&lt;b&gt;abc</mark>def…"
        '<span class="gap"> </span>'
        '…xxx<mark class="label">KLMNOP</mark>&amp;ta…'
    )
    # lines: at most two whole lines beyond the span's own on each side
    lines = "\n".join(f"line {k}" for k in range(9))
    k = lines.index("line 4")
    assert excerpt_html(lines, [(k, k + 4, True)]) == (
        "…line 2\nline 3\n<mark>line</mark> 4\nline 5\nline 6…"
    )


def chromium() -> str:
    """The Chromium binary; missing fails under CI (``.ci/run`` installs it) and skips here."""
    found = find_chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing (CI installs it: apt-get install chromium)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    return found


def headless(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    profile.mkdir()
    command = headless_command(chromium(), page, profile, *args)
    return subprocess.run(command, capture_output=True, timeout=120, check=True)


def test_renders_in_headless_chromium(tiny_report: ScanReport, tmp_path: Path) -> None:
    import matplotlib.image
    import numpy as np

    page = write_html(tiny_report, tmp_path / "r.html")
    dom = headless(page, tmp_path / "p1", "--dump-dom").stdout.decode("utf-8")
    # tables: rates, documents, and the run's benches, shards and definitions
    assert dom.count("<svg ") == 2 and dom.count("<table") == 5
    assert "<mark>学而时习之，不亦说乎？有朋自远方来，不亦乐乎</mark>" in dom
    assert "<script" not in dom  # the document's "<script>" stayed text
    png = tmp_path / "r.png"
    headless(page, tmp_path / "p2", f"--screenshot={png}", "--window-size=1280,2000")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = (matplotlib.image.imread(png)[:, :, :3] * 255).round().astype(np.uint8)
    assert pixels.shape == (2000, 1280, 3)
    colours = {tuple(p) for p in pixels.reshape(-1, 3)[::7].tolist()}
    assert len(colours) > 100  # text, charts and tables, not a blank page
    # the <mark> yellow (#ffe27a) is on screen: the highlights are drawn
    assert (pixels == (0xFF, 0xE2, 0x7A)).all(axis=2).sum() > 500


@pytest.fixture(scope="module")
def real_report(tmp_path_factory: pytest.TempPathFactory) -> ScanReport:
    data = shared_data()
    out = tmp_path_factory.mktemp("real") / "out"
    config = ScanConfig(
        bench_dir=data / "benchmarks",
        index_dir=tmp_path_factory.mktemp("indexes"),
        workers=2,
        quiet=True,
    )
    sources = resolve_benches(["cmmlu", "ceval"], config)
    scan(str(data / "corpus" / "chinese"), sources, out, config)
    return ScanReport.open(out)


def test_real_scan_shows_the_classical_chinese(real_report: ScanReport, tmp_path: Path) -> None:
    page = write_html(real_report, tmp_path / "r.html").read_text(encoding="utf-8")
    titles = [t.replace("<wbr>", "") for t in re.findall(r"<h3>(test/.*?)</h3>", page)]
    assert titles == [
        "test/chinese_history/196",
        "test/chinese_teacher_qualification/81",
        "test/chinese_teacher_qualification/49",
        "test/teacher_qualification/146",
        "test/college_education/90",
        "test/elementary_chinese/111",
        "test/elementary_chinese/30",
    ]
    # every span is highlighted in the document's own text at its offsets (read here on its
    # own); overlapping spans are one highlight
    shard = shared_data() / "corpus" / "chinese" / "chinese_poetry_classics.jsonl"
    docs = {}
    with open(shard, encoding="utf-8") as f:
        for line, record in enumerate(f, 1):
            docs[line] = json.loads(record)["text"]
    spans = real_report.query(
        "SELECT m.doc_line, m.char_start, m.char_end FROM matches m JOIN items USING "
        "(bench, split, item_id) WHERE items.contaminated AND m.shard LIKE '%poetry_classics%'"
    )
    marks = [m for e in excerpts(page) for m in re.findall(r"<mark>(.*?)</mark>", e, re.S)]
    # spans: 1 + 3 + 1 + 1 + 2 + 2 + 1 by item; college_education/90's two overlap
    assert len(spans) == 11 and len(marks) == 10
    for s in spans:
        assert any(docs[s["doc_line"]][s["char_start"] : s["char_end"]] in m for m in marks)
    # Mencius 2B.1 quoted by elementary_chinese/111, and Qu Yuan's Li Sao by /30
    assert "天<mark>時不如地利，地利不如人和</mark>。" in page
    assert "<mark>路漫漫其修远兮，吾将上下而求索</mark>。" in page
    assert f"<code>{shard}</code>" in page
    assert '<div class="n">6<span class="of"> of 11,582</span></div>' in page
    assert '<div class="n">1<span class="of"> of 12,342</span></div>' in page
